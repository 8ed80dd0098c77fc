/*
 * bench/windows/tables.c - the native floor for the Windows poll benchmark (bench/windows/bench.ts).
 *
 * Times the four socket-table calls a full snapshot needs, exactly as a careful C program makes them:
 * GetExtendedTcpTable / GetExtendedUdpTable for AF_INET and AF_INET6 with the owner-pid classes
 * (TCP_TABLE_OWNER_PID_ALL = 5, UDP_TABLE_OWNER_PID = 1), one call per table into a preallocated
 * buffer per table (grown with headroom on ERROR_INSUFFICIENT_BUFFER = 122), one after the other,
 * timed with QueryPerformanceCounter. Nothing is decoded: this is the cost of the OS calls alone.
 *
 *   tables.exe [N]       warm up, time N iterations (default 50), print one TABLES line, exit
 *   tables.exe --serve   warm up, then per stdin line "N" time N iterations and print one TABLES
 *                        line; "q" or end of input exits (lets the bench interleave with itself)
 *
 * TABLES line (one line, space-separated key=value):
 *   TABLES n=<N> median_ms=<m> p95_ms=<p> rows=<tcp4>,<tcp6>,<udp4>,<udp6> ms=<t1>,<t2>,...
 * where t_i is the time of iteration i (all four calls) in milliseconds. An error prints
 * "ERROR <api> af=<af> rc=<code>" and exits with status 1.
 *
 * Build (Debian): x86_64-w64-mingw32-gcc -O2 -o tables.exe tables.c -liphlpapi  (bench/windows/run.sh)
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTABLES 4
#define MAX_ATTEMPTS 5

struct table {
  const char *name;
  int tcp;
  ULONG af;
  BYTE *buf;
  DWORD cap;
  DWORD rows;
};

static struct table tables[NTABLES] = {
    {"tcp4", 1, AF_INET, NULL, 0, 0},
    {"tcp6", 1, AF_INET6, NULL, 0, 0},
    {"udp4", 0, AF_INET, NULL, 0, 0},
    {"udp6", 0, AF_INET6, NULL, 0, 0},
};

static LARGE_INTEGER freq;

/* One call into t's buffer; grows the buffer on 122 and retries (bounded). 0 or an error code. */
static DWORD read_table(struct table *t) {
  DWORD rc = ERROR_INSUFFICIENT_BUFFER;
  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    DWORD size = t->cap;
    rc = t->tcp ? GetExtendedTcpTable(t->buf, &size, FALSE, t->af, TCP_TABLE_OWNER_PID_ALL, 0)
                : GetExtendedUdpTable(t->buf, &size, FALSE, t->af, UDP_TABLE_OWNER_PID, 0);
    if (rc != ERROR_INSUFFICIENT_BUFFER) break;
    DWORD want = (size > t->cap ? size : t->cap);
    want = want + want / 2 + 4096;
    BYTE *nb = realloc(t->buf, want);
    if (!nb) return ERROR_NOT_ENOUGH_MEMORY;
    t->buf = nb;
    t->cap = want;
  }
  if (rc == NO_ERROR) t->rows = *(DWORD *)t->buf;
  return rc;
}

/* The four calls, in snapshot order; exits on an error. */
static void snapshot(void) {
  for (int i = 0; i < NTABLES; i++) {
    DWORD rc = read_table(&tables[i]);
    if (rc == ERROR_NOT_SUPPORTED) { /* family not installed: an empty table */
      tables[i].rows = 0;
      continue;
    }
    if (rc != NO_ERROR) {
      printf("ERROR %s af=%lu rc=%lu\n", tables[i].tcp ? "GetExtendedTcpTable" : "GetExtendedUdpTable",
             (unsigned long)tables[i].af, (unsigned long)rc);
      fflush(stdout);
      exit(1);
    }
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Times n snapshots and prints one TABLES line. */
static void run(int n) {
  double *ms = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  double *sorted = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (!ms || !sorted) exit(1);
  for (int i = 0; i < n; i++) {
    LARGE_INTEGER t0, t1;
    QueryPerformanceCounter(&t0);
    snapshot();
    QueryPerformanceCounter(&t1);
    ms[i] = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)freq.QuadPart;
  }
  memcpy(sorted, ms, sizeof(double) * (size_t)n);
  qsort(sorted, (size_t)n, sizeof(double), cmp_double);
  double median = n ? sorted[n / 2] : 0, p95 = n ? sorted[(int)(n * 0.95) < n ? (int)(n * 0.95) : n - 1] : 0;
  printf("TABLES n=%d median_ms=%.3f p95_ms=%.3f rows=%lu,%lu,%lu,%lu ms=", n, median, p95,
         (unsigned long)tables[0].rows, (unsigned long)tables[1].rows, (unsigned long)tables[2].rows,
         (unsigned long)tables[3].rows);
  for (int i = 0; i < n; i++) printf(i ? ",%.3f" : "%.3f", ms[i]);
  printf("\n");
  fflush(stdout);
  free(ms);
  free(sorted);
}

int main(int argc, char **argv) {
  QueryPerformanceFrequency(&freq);
  for (int i = 0; i < NTABLES; i++) {
    tables[i].cap = 16 * 1024;
    tables[i].buf = malloc(tables[i].cap);
    if (!tables[i].buf) return 1;
  }
  /* warm-up: size the buffers, fault the pages in */
  snapshot();
  snapshot();
  if (argc > 1 && strcmp(argv[1], "--serve") == 0) {
    char line[64];
    printf("READY\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
      if (line[0] == 'q') break;
      int n = atoi(line);
      if (n > 0) run(n);
    }
    return 0;
  }
  run(argc > 1 ? atoi(argv[1]) : 50);
  return 0;
}
