<#
.SYNOPSIS
Installs, updates or removes the Port Reporter Windows service (portreporter.exe).

.DESCRIPTION
If PowerShell refuses to run this script ("running scripts is disabled on this system", or "is not
digitally signed" for a downloaded copy), either unblock the downloaded file once with
Unblock-File .\install.ps1 (enough under RemoteSigned, the server default), or run it for this call only
with powershell.exe -ExecutionPolicy Bypass -File .\install.ps1 <parameters> (also under Restricted, the
client default). Neither changes the machine's policy.

install.ps1 registers portreporter.exe as a Windows service the way Microsoft's original
Port Reporter was installed: display name "Port Reporter", Manual start, installed in
"$env:ProgramFiles\PortReporter", logging to "$env:SystemRoot\System32\LogFiles\PortReporter".

An install does, in this order:
  1. checks the parameters and that the session runs as Administrator; refuses (without -Force) to
     take over a service or event source that another program (Microsoft's original) registered;
  2. stops the service if it is already installed and running, and waits until its process has exited;
  3. copies portreporter.exe (and -ConfigPath, if given) into -InstallDir (the old exe is renamed aside
     first and put back if the copy fails);
  4. sc.exe create (or sc.exe config when the service already exists) with the binary path
     ALWAYS quoted: "<InstallDir>\portreporter.exe" service --log-dir "<LogDir>"
     (plus --config "<InstallDir>\portreporter.jsonc" when a config file is installed);
  5. sc.exe description, sc.exe failure (restart after 60 s, twice; reset after a day) and sc.exe
     failureflag 1 (the failure actions also run when the service stops itself after a runtime fault;
     a configuration error stops it with exit code 0 and is not restarted);
  6. creates the log directory with an ACL that only SYSTEM, Administrators and the service's own SID
     (NT SERVICE\<name>) can use (protected: no inherited entries; owner Administrators). The ACL is set
     when the directory is created, or again with -ResetLogAcl; entries an administrator added later
     (a SIEM reader) are kept by an update;
  7. registers the event source "Port Reporter" in the Application log (and rewrites its message file);
  8. with -Environment, writes the service's environment (a key only SYSTEM and Administrators read);
  9. starts the service with -Start, or when it was running before an update, and waits until it
     runs; if it stopped instead, prints its exit codes and its last error event, and exits with 1.

Running the script again updates the installation in place. If a step fails during a fresh
install, everything this run created is removed again (the service is deleted), so no
half-registered service is left. An update that fails part-way leaves the service registered.

-Uninstall stops and deletes the service and removes -InstallDir. The logs (and the event
source, so that old events stay readable) are kept unless -RemoveLogs is given.

Every failure prints one line on stderr, starting with "install.ps1: error:", and the script
exits with code 1. Success exits with 0.

sc.exe is started through System.Diagnostics.Process with a command line that the script
quotes itself (Windows argv rules), so the result is the same on Windows PowerShell 5.1 and
PowerShell 7, whatever $PSNativeCommandArgumentPassing is.

The operation asks for confirmation (ConfirmImpact High). Use -Confirm:$false to run it
unattended, and -WhatIf to see what it would do without changing anything.

.PARAMETER ExePath
The portreporter.exe to install. Default: portreporter.exe next to this script.

.PARAMETER InstallDir
Where the executable is copied. Default: "$env:ProgramFiles\PortReporter".

.PARAMETER LogDir
The log directory, passed to the service as --log-dir. Default:
"$env:SystemRoot\System32\LogFiles\PortReporter" (the original Port Reporter's directory).

.PARAMETER StartupType
Manual (the default, as the original), Automatic or AutomaticDelayed (sc.exe start= demand,
auto, delayed-auto).

.PARAMETER ServiceName
The service (registry key) name. Default: PortReporter. Letters, digits, '_', '-' and '.'
only. A name other than the default gets the display name "Port Reporter (<name>)".

.PARAMETER Start
Start the service once it is installed.

.PARAMETER Uninstall
Stop and delete the service and remove -InstallDir. Logs are kept unless -RemoveLogs.

.PARAMETER RemoveLogs
With -Uninstall: also remove -LogDir and the "Port Reporter" event source registration.

.PARAMETER ConfigPath
An optional JSONC configuration file (see 'portreporter run --help'). It is copied to
"<InstallDir>\portreporter.jsonc" and the service gets --config "<InstallDir>\portreporter.jsonc".
A later run without -ConfigPath keeps using an installed portreporter.jsonc. The --log-dir on the
service command line wins over a logDir in the file.

.PARAMETER Environment
Environment variables for the service, e.g. @{ PORTREPORTER_WEBHOOK_TOKEN = 'secret' }: written to the
service's Environment value (REG_MULTI_SZ), which the SCM gives the process at each start. A service cannot
see a variable set with setx /M until the machine restarts. The service key is then readable by SYSTEM and
Administrators only, since a value may be a secret. Given again, it replaces the whole set.

.PARAMETER ResetLogAcl
Apply the log directory's protected ACL again even though the directory exists (this removes entries an
administrator added).

.PARAMETER Force
Take over a service or an event source registered by another program (e.g. Microsoft's original Port
Reporter, whose service is also named PortReporter).

.EXAMPLE
PS C:\> .\install.ps1
Installs portreporter.exe from the script's folder with the defaults (Manual start), after
asking for confirmation.

.EXAMPLE
PS C:\> .\install.ps1 -StartupType AutomaticDelayed -Start -Confirm:$false
Installs (or updates) without asking, with delayed automatic start, and starts the service.

.EXAMPLE
PS C:\> .\install.ps1 -InstallDir 'D:\Tools\Port Reporter' -LogDir 'D:\Logs\Port Reporter' -WhatIf
Shows the exact sc.exe command lines and copies that an install would run, changes nothing.

.EXAMPLE
PS C:\> .\install.ps1 -Uninstall -RemoveLogs -Confirm:$false
Removes the service, its files, its logs and its event source.

.NOTES
Runs on Windows PowerShell 5.1 and PowerShell 7. Must be run from an elevated session.
Tests: test/installer/ (Pester 5). Setting PORTREPORTER_INSTALL_NORUN=1 and dot-sourcing the
script only defines its functions (that is how the tests load it).
#>
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
param(
    [string]$ExePath,
    [string]$InstallDir,
    [string]$LogDir,
    [ValidateSet('Manual', 'Automatic', 'AutomaticDelayed')]
    [string]$StartupType = 'Manual',
    [string]$ServiceName = 'PortReporter',
    [switch]$Start,
    [switch]$Uninstall,
    [switch]$RemoveLogs,
    [string]$ConfigPath,
    [hashtable]$Environment,
    [switch]$ResetLogAcl,
    [switch]$Force
)

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------
$script:ExeName = 'portreporter.exe'
$script:ConfigName = 'portreporter.jsonc'   # -ConfigPath is installed under this name
$script:DisplayName = 'Port Reporter'
$script:EventSource = 'Port Reporter'
$script:Description = 'Logs which process used which TCP and UDP port (successor to Microsoft Port Reporter).'
$script:FailureReset = '86400'
$script:FailureActions = 'restart/60000/restart/60000//'
# Failure actions also for a STOPPED with a non-zero exit code (the service reports runtime faults that
# way, usage errors with 0 so that they do not restart into the same error): sc.exe failureflag.
$script:FailureFlag = '1'
# Owner Administrators; DACL protected (no inheritance from the parent), full control for
# SYSTEM (the service account) and Administrators only, inherited by files and subfolders.
$script:LogDirSddl = 'O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)'
# The service key when -Environment puts values (a webhook token) in it: SYSTEM and Administrators only
# (the default key is readable by every user).
$script:ServiceKeySddl = 'O:BAD:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)'
$script:EventMessageFile = '%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll'
$script:ScExe = $null          # tests may point this at a stand-in; default %SystemRoot%\System32\sc.exe
$script:OnWindows = [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT
# The first line of output. PowerShell's execution policy blocks a downloaded unsigned script before it can
# print anything, so this says, for the next run, how to run it anyway.
$script:Banner = 'Port Reporter setup (if PowerShell refuses to run install.ps1: Unblock-File .\install.ps1, or run: powershell -ExecutionPolicy Bypass -File .\install.ps1)'
$script:ScErrorNames = @{
    5    = 'ERROR_ACCESS_DENIED'
    1056 = 'ERROR_SERVICE_ALREADY_RUNNING'
    1060 = 'ERROR_SERVICE_DOES_NOT_EXIST'
    1062 = 'ERROR_SERVICE_NOT_ACTIVE'
    1072 = 'ERROR_SERVICE_MARKED_FOR_DELETE'
    1073 = 'ERROR_SERVICE_EXISTS'
    1078 = 'ERROR_DUPLICATE_SERVICE_NAME'
}

# ---------------------------------------------------------------------------------------------
# Pure helpers (no side effects; tested directly)
# ---------------------------------------------------------------------------------------------

function ConvertTo-WindowsArgument {
    # Quotes one argument so that CommandLineToArgvW / the C runtime give it back unchanged.
    param([AllowEmptyString()][string]$Value, [switch]$AlwaysQuote)
    if (-not $AlwaysQuote -and $Value.Length -gt 0 -and $Value -notmatch '[\s"]') { return $Value }
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('"')
    $backslashes = 0
    foreach ($ch in $Value.ToCharArray()) {
        if ($ch -eq '\') { $backslashes++; continue }
        if ($ch -eq '"') {
            # n backslashes before a quote: 2n+1 backslashes, then the quote
            [void]$sb.Append([char]'\', 2 * $backslashes + 1)
            [void]$sb.Append('"')
        } else {
            if ($backslashes -gt 0) { [void]$sb.Append([char]'\', $backslashes) }
            [void]$sb.Append($ch)
        }
        $backslashes = 0
    }
    # backslashes before the closing quote are doubled
    if ($backslashes -gt 0) { [void]$sb.Append([char]'\', 2 * $backslashes) }
    [void]$sb.Append('"')
    return $sb.ToString()
}

function Join-WindowsCommandLine {
    # The argument part of a command line (without the program), each argument quoted as needed.
    param([string[]]$Arguments)
    $parts = foreach ($a in $Arguments) { ConvertTo-WindowsArgument -Value $a }
    return ($parts -join ' ')
}

function Get-NormalizedDirectory {
    # Drops trailing separators (but keeps a drive root such as C:\). On Windows a relative path
    # is made absolute against the current location.
    param([string]$Path)
    if ($script:OnWindows) {
        $Path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
    }
    $trimmed = $Path.TrimEnd('\', '/')
    if ($trimmed -match '^[A-Za-z]:$') { return $trimmed + '\' }
    if ($trimmed.Length -eq 0) { return $Path }
    return $trimmed
}

function Join-WindowsPath {
    param([string]$Directory, [string]$Leaf)
    return $Directory.TrimEnd('\', '/') + '\' + $Leaf
}

function Get-ServiceBinaryPath {
    # The service's ImagePath. The executable is ALWAYS quoted (no unquoted-service-path hole).
    # With -WithConfig, --config "<InstallDir>\portreporter.jsonc" follows.
    param([string]$InstallDir, [string]$LogDir, [switch]$WithConfig)
    $exe = Join-WindowsPath -Directory $InstallDir -Leaf $script:ExeName
    $bin = '"' + $exe + '" service --log-dir ' + (ConvertTo-WindowsArgument -Value $LogDir -AlwaysQuote)
    if ($WithConfig) {
        $bin += ' --config ' + (ConvertTo-WindowsArgument -Value (Join-WindowsPath -Directory $InstallDir -Leaf $script:ConfigName) -AlwaysQuote)
    }
    return $bin
}

function Get-ScStartValue {
    param([string]$StartupType)
    switch ($StartupType) {
        'Manual' { return 'demand' }
        'Automatic' { return 'auto' }
        'AutomaticDelayed' { return 'delayed-auto' }
    }
    throw "unknown startup type '$StartupType' (use Manual, Automatic or AutomaticDelayed)"
}

function Get-ServiceDisplayName {
    param([string]$ServiceName)
    if ($ServiceName -eq 'PortReporter') { return $script:DisplayName }
    return "$($script:DisplayName) ($ServiceName)"
}

function Get-ScInstallArgumentList {
    # The sc.exe argument lists of an install: create (or config), description, failure.
    # Returns an array of string arrays.
    param(
        [string]$ServiceName, [string]$InstallDir, [string]$LogDir, [string]$StartupType,
        [switch]$Update, [switch]$WithConfig
    )
    $verb = 'create'
    if ($Update) { $verb = 'config' }
    $binPath = Get-ServiceBinaryPath -InstallDir $InstallDir -LogDir $LogDir -WithConfig:$WithConfig
    $startValue = Get-ScStartValue -StartupType $StartupType
    $displayName = Get-ServiceDisplayName -ServiceName $ServiceName
    return @(
        , @($verb, $ServiceName, 'binPath=', $binPath, 'start=', $startValue, 'DisplayName=', $displayName)
        , @('description', $ServiceName, $script:Description)
        , @('failure', $ServiceName, 'reset=', $script:FailureReset, 'actions=', $script:FailureActions)
        , @('failureflag', $ServiceName, $script:FailureFlag)
    )
}

function Get-ServiceSid {
    # The service SID of a service name (NT SERVICE\<name>): S-1-5-80- followed by the SHA-1 of the
    # upper-cased name in UTF-16LE, as five little-endian 32-bit sub-authorities. Pure.
    param([string]$ServiceName)
    $sha = [System.Security.Cryptography.SHA1]::Create()
    try { $hash = $sha.ComputeHash([System.Text.Encoding]::Unicode.GetBytes($ServiceName.ToUpperInvariant())) }
    finally { $sha.Dispose() }
    $subs = for ($i = 0; $i -lt 20; $i += 4) { [BitConverter]::ToUInt32($hash, $i) }
    return 'S-1-5-80-' + ($subs -join '-')
}

function Get-LogDirSddl {
    # The log directory's ACL: protected, SYSTEM, Administrators and the service's own SID.
    param([string]$ServiceName)
    return $script:LogDirSddl + '(A;OICI;FA;;;' + (Get-ServiceSid -ServiceName $ServiceName) + ')'
}

function Get-ImagePathExe {
    # The executable of a service ImagePath: the quoted first token, or (unquoted) everything up to
    # '.exe'. Pure.
    param([AllowNull()][string]$ImagePath)
    if (-not $ImagePath) { return $null }
    $p = $ImagePath.Trim()
    if ($p.StartsWith('"')) { $end = $p.IndexOf('"', 1); if ($end -gt 0) { return $p.Substring(1, $end - 1) } }
    $m = [regex]::Match($p, '^(.*?\.exe)(\s|$)', 'IgnoreCase')
    if ($m.Success) { return $m.Groups[1].Value }
    return ($p -split '\s+')[0]
}

function ConvertTo-EnvironmentLines {
    # -Environment @{NAME='value'} as the REG_MULTI_SZ lines 'NAME=value', sorted by name. Throws on a
    # name that is not a variable name or a value with a NUL or a line break. Pure.
    param([hashtable]$Environment)
    $lines = foreach ($k in ($Environment.Keys | Sort-Object)) {
        $name = [string]$k
        $value = [string]$Environment[$k]
        if ($name -notmatch '^[A-Za-z_][A-Za-z0-9_]{0,254}$') { throw "invalid -Environment name '$name': use letters, digits and '_'" }
        if ($value.IndexOfAny([char[]]@([char]0, [char]10, [char]13)) -ge 0) { throw "invalid -Environment value for '$name': it contains a NUL or a line break" }
        "$name=$value"
    }
    return , @($lines)
}

function Format-OneLine {
    # Collapses a multi-line message into one line.
    param([AllowNull()][string]$Text)
    if ($null -eq $Text) { return '' }
    return (($Text -split '[\r\n]+' | ForEach-Object { $_.Trim() } | Where-Object { $_ }) -join ' ')
}

function Test-ProtectedPath {
    # True for paths that must never be removed recursively (drive roots, Windows, Program Files...).
    param([string]$Path)
    $p = $Path.TrimEnd('\', '/')
    if ($p.Length -eq 0 -or $p -match '^[A-Za-z]:$' -or $p -match '^\\\\[^\\]+\\[^\\]+$') { return $true }
    $guarded = @($env:SystemRoot, $env:windir, $env:ProgramFiles, ${env:ProgramFiles(x86)}, $env:ProgramData,
        $env:USERPROFILE, $env:SystemDrive, $env:HOME)
    if ($env:SystemRoot) {
        $guarded += (Join-WindowsPath $env:SystemRoot 'System32')
        $guarded += (Join-WindowsPath (Join-WindowsPath $env:SystemRoot 'System32') 'LogFiles')
    }
    foreach ($g in $guarded) {
        if ($g -and ($g.TrimEnd('\', '/') -eq $p)) { return $true }
    }
    return $false
}

# ---------------------------------------------------------------------------------------------
# Side-effect wrappers (Windows-only parts; the tests mock these)
# ---------------------------------------------------------------------------------------------

function Write-InstallError {
    # The one line on stderr for a failure.
    param([string]$Message)
    $line = 'install.ps1: error: ' + (Format-OneLine $Message)
    if ($Host -and $Host.UI) { $Host.UI.WriteErrorLine($line) } else { [Console]::Error.WriteLine($line) }
}

function Test-IsAdministrator {
    if (-not $script:OnWindows) { return $false }
    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object System.Security.Principal.WindowsPrincipal($identity)
    return $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
}

function Get-ScExePath {
    if ($script:ScExe) { return $script:ScExe }
    if (-not $env:SystemRoot) { return 'sc.exe' }
    return (Join-Path $env:SystemRoot 'System32\sc.exe')
}

function Invoke-NativeProcess {
    # Runs FilePath with a command line passed verbatim (ProcessStartInfo.Arguments), so that no
    # PowerShell version re-quotes it. Returns @{ ExitCode; Output }.
    param([string]$FilePath, [string]$CommandLine)
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $FilePath
    $psi.Arguments = $CommandLine
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $p = [System.Diagnostics.Process]::Start($psi)
    $out = $p.StandardOutput.ReadToEndAsync()
    $err = $p.StandardError.ReadToEndAsync()
    $p.WaitForExit()
    $text = $out.Result + "`n" + $err.Result
    $code = $p.ExitCode
    $p.Dispose()
    return @{ ExitCode = $code; Output = $text }
}

function Invoke-Sc {
    # The only way this script runs sc.exe. Throws a one-line message when the exit code is not
    # in AllowedExitCodes. Returns the exit code.
    param([Parameter(Mandatory)][AllowEmptyString()][string[]]$Arguments, [int[]]$AllowedExitCodes = @(0))
    $commandLine = Join-WindowsCommandLine -Arguments $Arguments
    Write-Verbose "sc.exe $commandLine"
    $result = Invoke-NativeProcess -FilePath (Get-ScExePath) -CommandLine $commandLine
    $global:LASTEXITCODE = $result.ExitCode
    if ($AllowedExitCodes -notcontains $LASTEXITCODE) {
        $name = ''
        if ($script:ScErrorNames.ContainsKey([int]$LASTEXITCODE)) { $name = " ($($script:ScErrorNames[[int]$LASTEXITCODE]))" }
        $detail = Format-OneLine $result.Output
        if ($detail) { $detail = ": $detail" }
        throw "sc.exe $($Arguments[0]) $($Arguments[1]) failed with exit code $LASTEXITCODE$name$detail"
    }
    return $LASTEXITCODE
}

function Get-ServiceState {
    # $null when the service does not exist, else its status ('Running', 'Stopped', ...).
    param([string]$Name)
    if (-not $script:OnWindows) { return $null }
    $svc = Get-Service -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $svc) { return $null }
    return [string]$svc.Status
}

function Stop-InstalledService {
    # sc.exe stop, then waits until the service reports Stopped.
    param([string]$Name, [int]$TimeoutSeconds = 60)
    # 1062: not running; 1061: already stopping (then wait as well)
    [void](Invoke-Sc -Arguments @('stop', $Name) -AllowedExitCodes @(0, 1061, 1062))
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        $state = Get-ServiceState -Name $Name
        if ($null -eq $state -or $state -eq 'Stopped') { return }
        if ([DateTime]::UtcNow -gt $deadline) {
            throw "service '$Name' did not stop within $TimeoutSeconds s (state: $state)"
        }
        Start-Sleep -Milliseconds 500
    }
}

function Get-ServiceImagePath {
    # The ImagePath of an installed service, $null if none.
    param([string]$Name)
    if (-not $script:OnWindows) { return $null }
    $p = Get-ItemProperty -LiteralPath "HKLM:\SYSTEM\CurrentControlSet\Services\$Name" -Name ImagePath -ErrorAction SilentlyContinue
    if ($null -eq $p) { return $null }
    return [string]$p.ImagePath
}

function Get-ServiceProcessId {
    # The pid of the service's process (0 when it has none).
    param([string]$Name)
    if (-not $script:OnWindows) { return 0 }
    $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name='$Name'" -ErrorAction SilentlyContinue
    if ($null -eq $svc) { return 0 }
    return [int]$svc.ProcessId
}

function Get-ServiceExitCodes {
    # @{ Win32 = ...; Service = ... } of a stopped service.
    param([string]$Name)
    if (-not $script:OnWindows) { return @{ Win32 = 0; Service = 0 } }
    $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name='$Name'" -ErrorAction SilentlyContinue
    if ($null -eq $svc) { return @{ Win32 = 0; Service = 0 } }
    return @{ Win32 = [int]$svc.ExitCode; Service = [int]$svc.ServiceSpecificExitCode }
}

function Get-LastServiceError {
    # The text of the newest error event of the Port Reporter source (last 10 minutes), or $null.
    if (-not $script:OnWindows) { return $null }
    $e = Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = $script:EventSource; Level = 2; StartTime = (Get-Date).AddMinutes(-10) } -MaxEvents 1 -ErrorAction SilentlyContinue
    if ($null -eq $e) { return $null }
    $text = $e.Message
    if (-not $text -and $e.Properties.Count -gt 0) { $text = [string]$e.Properties[0].Value }
    return $text
}

function Test-ProcessRunning {
    param([int]$Id)
    return $null -ne (Get-Process -Id $Id -ErrorAction SilentlyContinue)
}

function Wait-ProcessExit {
    # Waits until process Id has exited: the SCM may report STOPPED before the process has ended and
    # released its executable (SetServiceStatus: the process may exit at any time after STOPPED).
    param([int]$Id, [int]$TimeoutSeconds = 30)
    if ($Id -le 0) { return }
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (Test-ProcessRunning -Id $Id) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "the service process (pid $Id) did not exit within $TimeoutSeconds s after it stopped" }
        Start-Sleep -Milliseconds 200
    }
}

function Wait-ServiceStart {
    # After sc.exe start: waits for Running or Stopped (start pending can take a while on a big host).
    # Returns the state reached ('Running', 'Stopped', or the last one seen at the timeout).
    param([string]$Name, [int]$TimeoutSeconds = 60)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        $state = Get-ServiceState -Name $Name
        if ($state -eq 'Running' -or $state -eq 'Stopped' -or $null -eq $state) { return $state }
        if ([DateTime]::UtcNow -gt $deadline) { return $state }
        Start-Sleep -Milliseconds 500
    }
}

function Start-InstalledService {
    # sc.exe start, then waits for the outcome; throws with the exit codes and the last error event
    # when the service stopped instead of running.
    param([string]$Name)
    [void](Invoke-Sc -Arguments @('start', $Name) -AllowedExitCodes @(0, 1056))
    $state = Wait-ServiceStart -Name $Name
    if ($state -eq 'Running') { return }
    if ($state -ne 'Stopped') { throw "service '$Name' did not reach Running within 60 s (state: $state); see the Application event log, source '$($script:EventSource)'" }
    $codes = Get-ServiceExitCodes -Name $Name
    $why = Get-LastServiceError
    $msg = "service '$Name' did not start: it stopped with win32 exit code $($codes.Win32), service exit code $($codes.Service)"
    if ($why) { $msg += "; last error event: $why" } else { $msg += "; see the Application event log, source '$($script:EventSource)'" }
    throw $msg
}

function Set-ServiceEnvironment {
    # Writes the service's Environment (REG_MULTI_SZ, read by the SCM at each start) and restricts its
    # key to SYSTEM and Administrators, since a value may be a secret.
    param([string]$Name, [string[]]$Lines)
    $key = "HKLM:\SYSTEM\CurrentControlSet\Services\$Name"
    [void](New-ItemProperty -LiteralPath $key -Name 'Environment' -PropertyType MultiString -Value $Lines -Force -ErrorAction Stop)
    Set-RegistryKeyAcl -Key $key -Sddl $script:ServiceKeySddl
}

function Set-RegistryKeyAcl {
    param([string]$Key, [string]$Sddl)
    $acl = Get-Acl -LiteralPath $Key -ErrorAction Stop
    $acl.SetSecurityDescriptorSddlForm($Sddl, [System.Security.AccessControl.AccessControlSections]'Owner, Access')
    Set-Acl -LiteralPath $Key -AclObject $acl -ErrorAction Stop
}

function Install-ExecutableFile {
    # Replaces the installed exe: the old one is renamed aside first (a rename works while a just-stopped
    # process still maps it), the new one copied; a failed copy puts the old one back.
    param([string]$Source, [string]$Destination)
    $aside = $Destination + '.old'
    $hadOld = Test-Path -LiteralPath $Destination -PathType Leaf
    if ($hadOld) {
        if (Test-Path -LiteralPath $aside) { Remove-Item -LiteralPath $aside -Force -ErrorAction SilentlyContinue }
        Move-Item -LiteralPath $Destination -Destination $aside -Force -ErrorAction Stop
    }
    try { Copy-InstallFile -Source $Source -Destination $Destination }
    catch {
        $why = $_.Exception.Message
        if ($hadOld) {
            Remove-Item -LiteralPath $Destination -Force -ErrorAction SilentlyContinue
            Move-Item -LiteralPath $aside -Destination $Destination -Force -ErrorAction SilentlyContinue
            throw "copying the new executable failed ($why); the previous one was put back"
        }
        throw
    }
    if ($hadOld) { Remove-Item -LiteralPath $aside -Force -ErrorAction SilentlyContinue }
}

function New-InstallDirectory {
    # Returns $true if the directory was created now.
    param([string]$Path)
    if (Test-Path -LiteralPath $Path -PathType Container) { return $false }
    [void](New-Item -ItemType Directory -Path $Path -Force -ErrorAction Stop)
    return $true
}

function Copy-InstallFile {
    param([string]$Source, [string]$Destination)
    Copy-Item -LiteralPath $Source -Destination $Destination -Force -ErrorAction Stop
}

function New-LogDirectory {
    # Creates the directory if needed. Its protected ACL (Get-LogDirSddl) is applied when the directory is
    # created now, or with -Reset (install.ps1 -ResetLogAcl); an existing directory's ACL is left alone, so
    # entries an administrator added (a SIEM reader) survive an update. Returns $true if created.
    param([string]$Path, [string]$ServiceName = 'PortReporter', [switch]$Reset)
    $created = $false
    if (-not (Test-Path -LiteralPath $Path -PathType Container)) {
        [void](New-Item -ItemType Directory -Path $Path -Force -ErrorAction Stop)
        $created = $true
    }
    if ($created -or $Reset) { Set-DirectoryAcl -Path $Path -Sddl (Get-LogDirSddl -ServiceName $ServiceName) }
    return $created
}

function Set-DirectoryAcl {
    # Replaces a directory's owner and DACL with Sddl.
    param([string]$Path, [string]$Sddl)
    $acl = New-Object System.Security.AccessControl.DirectorySecurity
    $acl.SetSecurityDescriptorSddlForm($Sddl, [System.Security.AccessControl.AccessControlSections]'Owner, Access')
    Set-Acl -LiteralPath $Path -AclObject $acl -ErrorAction Stop
}

function Get-EventSourceMessageFile {
    # The EventMessageFile of a registered source, $null if the source or the value is missing.
    param([string]$Source)
    $p = Get-ItemProperty -LiteralPath (Get-EventSourceKey -Source $Source) -Name EventMessageFile -ErrorAction SilentlyContinue
    if ($null -eq $p) { return $null }
    return [string]$p.EventMessageFile
}

function Get-EventSourceKey {
    param([string]$Source)
    return "HKLM:\SYSTEM\CurrentControlSet\Services\EventLog\Application\$Source"
}

function Register-EventSource {
    # Registers Source in the Application log (the registry entries New-EventLog writes; PowerShell 7
    # has no New-EventLog). EventMessageFile and TypesSupported are (re)written even when the key
    # exists: a key left by another tool (or by Microsoft's original) without them makes Event Viewer
    # show "The description for Event ID ... cannot be found" for every event. Returns $true if the key
    # was created now.
    param([string]$Source)
    $key = Get-EventSourceKey -Source $Source
    $created = $false
    if (-not (Test-Path -LiteralPath $key)) {
        [void](New-Item -Path $key -Force -ErrorAction Stop)
        $created = $true
    }
    [void](New-ItemProperty -LiteralPath $key -Name 'EventMessageFile' -PropertyType ExpandString -Value $script:EventMessageFile -Force -ErrorAction Stop)
    [void](New-ItemProperty -LiteralPath $key -Name 'TypesSupported' -PropertyType DWord -Value 7 -Force -ErrorAction Stop)
    return $created
}

function Unregister-EventSource {
    param([string]$Source)
    $key = Get-EventSourceKey -Source $Source
    if (Test-Path -LiteralPath $key) { Remove-Item -LiteralPath $key -Recurse -Force -ErrorAction Stop }
}

function Remove-Directory {
    # Recursive removal with a few retries (a just-stopped service may still hold its exe).
    param([string]$Path)
    if (-not (Test-Path -LiteralPath $Path)) { return }
    if (Test-ProtectedPath -Path $Path) { throw "refusing to remove the protected folder '$Path'" }
    for ($i = 1; ; $i++) {
        try { Remove-Item -LiteralPath $Path -Recurse -Force -ErrorAction Stop; return }
        catch {
            if ($i -ge 10) { throw "cannot remove '$Path': $($_.Exception.Message)" }
            Start-Sleep -Milliseconds 500
        }
    }
}

# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

function Resolve-SetupOptions {
    # Applies defaults and checks the parameters. Throws a one-line message on a bad value.
    param([hashtable]$P)
    $o = @{}
    foreach ($k in $P.Keys) { $o[$k] = $P[$k] }
    if (-not $o.ExePath) {
        $root = $PSScriptRoot
        if (-not $root) { $root = (Get-Location).Path }
        $o.ExePath = Join-Path $root $script:ExeName
    }
    if (-not $o.InstallDir) {
        # ProgramW6432 is the 64-bit Program Files also in a 32-bit PowerShell on 64-bit Windows, where
        # ProgramFiles is 'Program Files (x86)'
        $programFiles = $env:ProgramW6432
        if (-not $programFiles) { $programFiles = $env:ProgramFiles }
        if (-not $programFiles) { throw 'no -InstallDir given and $env:ProgramFiles is not set' }
        $o.InstallDir = Join-WindowsPath $programFiles 'PortReporter'
    }
    if (-not $o.LogDir) {
        if (-not $env:SystemRoot) { throw 'no -LogDir given and $env:SystemRoot is not set' }
        $o.LogDir = Join-WindowsPath (Join-WindowsPath (Join-WindowsPath $env:SystemRoot 'System32') 'LogFiles') 'PortReporter'
    }
    if (-not $o.StartupType) { $o.StartupType = 'Manual' }
    if (-not $o.ServiceName) { $o.ServiceName = 'PortReporter' }
    foreach ($k in 'Start', 'Uninstall', 'RemoveLogs', 'ResetLogAcl', 'Force') { $o[$k] = [bool]$o[$k] }
    $o.EnvironmentLines = $null
    if ($o.Environment) {
        if ($o.Uninstall) { throw '-Environment cannot be combined with -Uninstall' }
        $o.EnvironmentLines = ConvertTo-EnvironmentLines -Environment $o.Environment
    }

    if ($o.ServiceName -notmatch '^[A-Za-z0-9_.-]{1,80}$') {
        throw "invalid -ServiceName '$($o.ServiceName)': use letters, digits, '_', '-' and '.' only"
    }
    [void](Get-ScStartValue -StartupType $o.StartupType)
    foreach ($k in 'InstallDir', 'LogDir', 'ExePath', 'ConfigPath') {
        if ($o[$k] -and $o[$k].IndexOfAny([char[]]'"*?<>|') -ge 0) { throw "invalid -$k '$($o[$k])': it contains a character not allowed in a Windows path" }
    }
    $o.InstallDir = Get-NormalizedDirectory $o.InstallDir
    $o.LogDir = Get-NormalizedDirectory $o.LogDir
    if ($o.Uninstall -and $o.Start) { throw '-Start cannot be combined with -Uninstall' }
    if ($o.RemoveLogs -and -not $o.Uninstall) { throw '-RemoveLogs is only valid with -Uninstall' }
    if ($o.Uninstall -and $o.ConfigPath) { throw '-ConfigPath cannot be combined with -Uninstall' }
    if (-not $o.Uninstall) {
        if (-not (Test-Path -LiteralPath $o.ExePath -PathType Leaf)) { throw "executable not found: $($o.ExePath)" }
        if ($o.ConfigPath -and -not (Test-Path -LiteralPath $o.ConfigPath -PathType Leaf)) { throw "config file not found: $($o.ConfigPath)" }
    }
    return $o
}

function Invoke-PortReporterSetup {
    <#
    .SYNOPSIS
    The whole install / update / uninstall. Returns the process exit code (0 or 1); prints one
    error line on failure.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    param(
        [string]$ExePath,
        [string]$InstallDir,
        [string]$LogDir,
        [string]$StartupType = 'Manual',
        [string]$ServiceName = 'PortReporter',
        [switch]$Start,
        [switch]$Uninstall,
        [switch]$RemoveLogs,
        [string]$ConfigPath,
        [hashtable]$Environment,
        [switch]$ResetLogAcl,
        [switch]$Force
    )
    Set-StrictMode -Version 2.0
    $ErrorActionPreference = 'Stop'
    Write-Host $script:Banner
    try {
        $o = Resolve-SetupOptions -P @{
            ExePath = $ExePath; InstallDir = $InstallDir; LogDir = $LogDir; StartupType = $StartupType
            ServiceName = $ServiceName; Start = $Start; Uninstall = $Uninstall; RemoveLogs = $RemoveLogs
            ConfigPath = $ConfigPath; Environment = $Environment; ResetLogAcl = $ResetLogAcl; Force = $Force
        }
        if (-not (Test-IsAdministrator)) {
            if (-not $WhatIfPreference) {
                throw 'administrator rights are required: run this from an elevated PowerShell (Run as administrator)'
            }
            Write-Warning 'not running as administrator: the real run would fail'
        }
        if ($o.Uninstall) { $null = Invoke-Uninstall -O $o } else { $null = Invoke-Install -O $o }
        return 0
    } catch {
        Write-InstallError -Message $_.Exception.Message
        return 1
    }
}

function Assert-NoTakeover {
    # Refuses (without -Force) to take over a service or an event source that another program registered:
    # Microsoft's original Port Reporter also installs a 'PortReporter' service.
    param([hashtable]$O, [bool]$Exists, [string]$TargetExe)
    if ($O.Force) { return }
    if ($Exists) {
        $imagePath = Get-ServiceImagePath -Name $O.ServiceName
        $exe = Get-ImagePathExe -ImagePath $imagePath
        if ($exe -and ($exe.TrimEnd() -ne $TargetExe)) {
            throw "the service '$($O.ServiceName)' exists and runs '$exe', not '$TargetExe': another program (Microsoft's original Port Reporter?) owns it; uninstall that first, choose another -ServiceName, or add -Force to take it over"
        }
    }
    $messageFile = Get-EventSourceMessageFile -Source $script:EventSource
    if ($messageFile -and ($messageFile -ne $script:EventMessageFile)) {
        throw "the event source '$($script:EventSource)' is registered with the message file '$messageFile' by another program; add -Force to take it over"
    }
}

function Invoke-Install {
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    param([hashtable]$O)
    $name = $O.ServiceName
    $state = Get-ServiceState -Name $name
    $exists = $null -ne $state
    $targetExe = [System.IO.Path]::Combine($O.InstallDir, $script:ExeName)  # no PS drive lookup
    $targetConfig = [System.IO.Path]::Combine($O.InstallDir, $script:ConfigName)
    # a config installed by an earlier run stays in use when -ConfigPath is not given again
    $withConfig = [bool]$O.ConfigPath -or (Test-Path -LiteralPath $targetConfig -PathType Leaf)
    $scLists = Get-ScInstallArgumentList -ServiceName $name -InstallDir $O.InstallDir -LogDir $O.LogDir -StartupType $O.StartupType -Update:$exists -WithConfig:$withConfig
    $restart = $O.Start -or ($exists -and $state -ne 'Stopped')
    Assert-NoTakeover -O $O -Exists $exists -TargetExe $targetExe

    $plan = New-Object System.Collections.Generic.List[string]
    if ($exists) { $plan.Add("Update the service '$name' (it exists, state $state):") } else { $plan.Add("Install the service '$name':") }
    if ($exists -and $state -ne 'Stopped') { $plan.Add("  sc.exe stop $name") }
    $plan.Add("  copy '$($O.ExePath)' to '$targetExe'")
    if ($O.ConfigPath) { $plan.Add("  copy '$($O.ConfigPath)' to '$targetConfig'") }
    foreach ($l in $scLists) { $plan.Add('  sc.exe ' + (Join-WindowsCommandLine $l)) }
    $plan.Add("  create the log directory '$($O.LogDir)' (ACL $(Get-LogDirSddl -ServiceName $name), set when created$(if ($O.ResetLogAcl) { ' and now: -ResetLogAcl' }))")
    $plan.Add("  register the event source '$($script:EventSource)' in the Application log")
    if ($O.EnvironmentLines) { $plan.Add("  set the service environment: $((@($O.EnvironmentLines) | ForEach-Object { ($_ -split '=', 2)[0] + '=...' }) -join ', ') (key readable by SYSTEM and Administrators only)") }
    if ($restart) { $plan.Add("  sc.exe start $name (and wait until it runs)") }
    $text = $plan -join [Environment]::NewLine
    if (-not $PSCmdlet.ShouldProcess($text, "$text`n`nDo you want to continue?", 'Port Reporter setup')) { return }
    # Confirmed once for the whole plan: the cmdlets below must not ask again (-Confirm sets
    # $ConfirmPreference to Low, which New-Item, Copy-Item, Set-Acl... would all honour).
    $ConfirmPreference = 'None'

    $createdService = $false
    $createdInstallDir = $false
    $createdLogDir = $false
    $createdSource = $false
    try {
        if ($exists -and $state -ne 'Stopped') {
            $servicePid = Get-ServiceProcessId -Name $name
            Stop-InstalledService -Name $name
            Wait-ProcessExit -Id $servicePid
        }
        $createdInstallDir = New-InstallDirectory -Path $O.InstallDir
        $same = $false
        try { $same = ([System.IO.Path]::GetFullPath($O.ExePath) -eq [System.IO.Path]::GetFullPath($targetExe)) } catch { $same = $false }
        if (-not $same) { Install-ExecutableFile -Source $O.ExePath -Destination $targetExe }
        if ($O.ConfigPath) {
            Copy-InstallFile -Source $O.ConfigPath -Destination $targetConfig
        }
        $first = $true
        foreach ($l in $scLists) {
            [void](Invoke-Sc -Arguments $l)
            if ($first -and -not $exists) { $createdService = $true }
            $first = $false
        }
        $createdLogDir = New-LogDirectory -Path $O.LogDir -ServiceName $name -Reset:$O.ResetLogAcl
        $createdSource = Register-EventSource -Source $script:EventSource
        if ($O.EnvironmentLines) { Set-ServiceEnvironment -Name $name -Lines $O.EnvironmentLines }
        if ($restart) { Start-InstalledService -Name $name }
    } catch {
        $message = Format-OneLine $_.Exception.Message
        if (-not $exists) {
            $undo = New-Object System.Collections.Generic.List[string]
            if ($createdService) {
                try { [void](Invoke-Sc -Arguments @('delete', $name)); $undo.Add("service '$name' deleted") }
                catch { $undo.Add("deleting service '$name' ALSO FAILED: $(Format-OneLine $_.Exception.Message)") }
            }
            if ($createdSource) {
                try { Unregister-EventSource -Source $script:EventSource; $undo.Add('event source removed') } catch { $undo.Add('event source not removed') }
            }
            if ($createdLogDir) {
                try { Remove-Item -LiteralPath $O.LogDir -Recurse -Force -ErrorAction Stop; $undo.Add('log directory removed') } catch { $undo.Add('log directory not removed') }
            }
            if ($createdInstallDir) {
                try { Remove-Item -LiteralPath $O.InstallDir -Recurse -Force -ErrorAction Stop; $undo.Add('install directory removed') } catch { $undo.Add('install directory not removed') }
            }
            if ($undo.Count -gt 0) { $message += ' (rolled back: ' + ($undo -join ', ') + ')' }
        }
        throw $message
    }
    $verb = 'installed'
    if ($exists) { $verb = 'updated' }
    $tail = 'not started (start it with: Start-Service ' + $name + ')'
    if ($restart) { $tail = 'started' }
    Write-Host "Port Reporter service '$name' $verb ($($O.StartupType)), $tail. Binary: $targetExe; logs: $($O.LogDir)"
}

function Invoke-Uninstall {
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    param([hashtable]$O)
    $name = $O.ServiceName
    $state = Get-ServiceState -Name $name
    if (Test-ProtectedPath -Path $O.InstallDir) { throw "refusing to remove the protected folder '$($O.InstallDir)'" }
    if ($O.RemoveLogs -and (Test-ProtectedPath -Path $O.LogDir)) { throw "refusing to remove the protected folder '$($O.LogDir)'" }

    $plan = New-Object System.Collections.Generic.List[string]
    $plan.Add("Uninstall the service '$name':")
    if ($null -eq $state) { $plan.Add("  (the service is not installed)") }
    elseif ($state -ne 'Stopped') { $plan.Add("  sc.exe stop $name") }
    if ($null -ne $state) { $plan.Add("  sc.exe delete $name") }
    $plan.Add("  remove '$($O.InstallDir)'")
    if ($O.RemoveLogs) {
        $plan.Add("  remove the logs '$($O.LogDir)'")
        $plan.Add("  unregister the event source '$($script:EventSource)'")
    } else { $plan.Add("  keep the logs '$($O.LogDir)'") }
    $text = $plan -join [Environment]::NewLine
    if (-not $PSCmdlet.ShouldProcess($text, "$text`n`nDo you want to continue?", 'Port Reporter setup')) { return }
    # Confirmed once for the whole plan: the cmdlets below must not ask again (-Confirm sets
    # $ConfirmPreference to Low, which New-Item, Copy-Item, Set-Acl... would all honour).
    $ConfirmPreference = 'None'

    if ($null -ne $state) {
        if ($state -ne 'Stopped') { Stop-InstalledService -Name $name }
        [void](Invoke-Sc -Arguments @('delete', $name))
    }
    Remove-Directory -Path $O.InstallDir
    if ($O.RemoveLogs) {
        Remove-Directory -Path $O.LogDir
        Unregister-EventSource -Source $script:EventSource
    }
    $kept = "logs kept in $($O.LogDir)"
    if ($O.RemoveLogs) { $kept = 'logs removed' }
    if ($null -eq $state) { Write-Host "Port Reporter service '$name' was not installed; files removed, $kept." }
    else { Write-Host "Port Reporter service '$name' uninstalled, $kept." }
}

if ($env:PORTREPORTER_INSTALL_NORUN -eq '1') { return }
exit (Invoke-PortReporterSetup @PSBoundParameters)
