/**
 * Bookkeeping of sockets held by several processes (see `owners.ts`): every holder, oldest first,
 * and the owner (the oldest) in the inode → owner map.
 *
 * @module
 */

/** Every holder of a shared socket by inode, oldest first (only inodes with more than one). */
export type HoldersByInode = Map<number, number[]>;

/** `pid` no longer holds `inode`: the next oldest holder owns it, or nobody known. */
export function dropHolder(
  holdersByInode: HoldersByInode,
  ownerByInode: Map<number, number>,
  inode: number,
  pid: number,
): void {
  const holders = holdersByInode.get(inode);
  if (holders === undefined) {
    if (ownerByInode.get(inode) === pid) ownerByInode.delete(inode);
    return;
  }
  const left = holders.filter((holder) => holder !== pid);
  if (left.length === holders.length) return;
  if (left.length > 1) holdersByInode.set(inode, left);
  else holdersByInode.delete(inode);
  ownerByInode.set(inode, left[0]);
}

/**
 * `pid` holds `inode` too (whose owner so far is `owner`): the holders sorted oldest first by `age`
 * (smaller is older; then by pid), the oldest as the owner. A new array each time the holders change.
 */
export function addHolder(
  holdersByInode: HoldersByInode,
  ownerByInode: Map<number, number>,
  { inode, pid, owner }: { inode: number; pid: number; owner: number },
  age: (pid: number) => number,
): void {
  const holders = [...(holdersByInode.get(inode) ?? [owner])];
  if (holders.includes(pid)) return;
  holders.push(pid);
  holders.sort((a, b) => age(a) - age(b) || a - b);
  holdersByInode.set(inode, holders);
  ownerByInode.set(inode, holders[0]);
}
