<#
.SYNOPSIS
Installs, updates or removes the Port Reporter Windows service (portreporter.exe).

.DESCRIPTION
install.ps1 registers portreporter.exe as a Windows service the way Microsoft's original
Port Reporter was installed: display name "Port Reporter", Manual start, installed in
"$env:ProgramFiles\PortReporter", logging to "$env:SystemRoot\System32\LogFiles\PortReporter".

An install does, in this order:
  1. checks the parameters and that the session runs as Administrator;
  2. stops the service if it is already installed and running;
  3. copies portreporter.exe (and -ConfigPath, if given) into -InstallDir;
  4. sc.exe create (or sc.exe config when the service already exists) with the binary path
     ALWAYS quoted: "<InstallDir>\portreporter.exe" service --log-dir "<LogDir>"
     (plus --config "<InstallDir>\portreporter.jsonc" when a config file is installed);
  5. sc.exe description, and sc.exe failure (restart after 60 s, twice; reset after a day);
  6. creates the log directory with an ACL that only SYSTEM and Administrators can use
     (protected: no inherited entries; owner Administrators);
  7. registers the event source "Port Reporter" in the Application log;
  8. starts the service with -Start, or when it was running before an update.

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
    [string]$ConfigPath
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
# Owner Administrators; DACL protected (no inheritance from the parent), full control for
# SYSTEM (the service account) and Administrators only, inherited by files and subfolders.
$script:LogDirSddl = 'O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)'
$script:EventMessageFile = '%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll'
$script:ScExe = $null          # tests may point this at a stand-in; default %SystemRoot%\System32\sc.exe
$script:OnWindows = [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT
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
    )
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
    # Creates the directory if needed and applies $script:LogDirSddl. Returns $true if created.
    param([string]$Path)
    $created = $false
    if (-not (Test-Path -LiteralPath $Path -PathType Container)) {
        [void](New-Item -ItemType Directory -Path $Path -Force -ErrorAction Stop)
        $created = $true
    }
    $acl = New-Object System.Security.AccessControl.DirectorySecurity
    $acl.SetSecurityDescriptorSddlForm($script:LogDirSddl, [System.Security.AccessControl.AccessControlSections]'Owner, Access')
    Set-Acl -LiteralPath $Path -AclObject $acl -ErrorAction Stop
    return $created
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
        if (-not $env:ProgramFiles) { throw 'no -InstallDir given and $env:ProgramFiles is not set' }
        $o.InstallDir = Join-WindowsPath $env:ProgramFiles 'PortReporter'
    }
    if (-not $o.LogDir) {
        if (-not $env:SystemRoot) { throw 'no -LogDir given and $env:SystemRoot is not set' }
        $o.LogDir = Join-WindowsPath (Join-WindowsPath (Join-WindowsPath $env:SystemRoot 'System32') 'LogFiles') 'PortReporter'
    }
    if (-not $o.StartupType) { $o.StartupType = 'Manual' }
    if (-not $o.ServiceName) { $o.ServiceName = 'PortReporter' }
    foreach ($k in 'Start', 'Uninstall', 'RemoveLogs') { $o[$k] = [bool]$o[$k] }

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
        [string]$ConfigPath
    )
    Set-StrictMode -Version 2.0
    $ErrorActionPreference = 'Stop'
    try {
        $o = Resolve-SetupOptions -P @{
            ExePath = $ExePath; InstallDir = $InstallDir; LogDir = $LogDir; StartupType = $StartupType
            ServiceName = $ServiceName; Start = $Start; Uninstall = $Uninstall; RemoveLogs = $RemoveLogs
            ConfigPath = $ConfigPath
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

    $plan = New-Object System.Collections.Generic.List[string]
    if ($exists) { $plan.Add("Update the service '$name' (it exists, state $state):") } else { $plan.Add("Install the service '$name':") }
    if ($exists -and $state -ne 'Stopped') { $plan.Add("  sc.exe stop $name") }
    $plan.Add("  copy '$($O.ExePath)' to '$targetExe'")
    if ($O.ConfigPath) { $plan.Add("  copy '$($O.ConfigPath)' to '$targetConfig'") }
    foreach ($l in $scLists) { $plan.Add('  sc.exe ' + (Join-WindowsCommandLine $l)) }
    $plan.Add("  create the log directory '$($O.LogDir)' (ACL $($script:LogDirSddl))")
    $plan.Add("  register the event source '$($script:EventSource)' in the Application log")
    if ($restart) { $plan.Add("  sc.exe start $name") }
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
        if ($exists -and $state -ne 'Stopped') { Stop-InstalledService -Name $name }
        $createdInstallDir = New-InstallDirectory -Path $O.InstallDir
        $same = $false
        try { $same = ([System.IO.Path]::GetFullPath($O.ExePath) -eq [System.IO.Path]::GetFullPath($targetExe)) } catch { $same = $false }
        if (-not $same) { Copy-InstallFile -Source $O.ExePath -Destination $targetExe }
        if ($O.ConfigPath) {
            Copy-InstallFile -Source $O.ConfigPath -Destination $targetConfig
        }
        $first = $true
        foreach ($l in $scLists) {
            [void](Invoke-Sc -Arguments $l)
            if ($first -and -not $exists) { $createdService = $true }
            $first = $false
        }
        $createdLogDir = New-LogDirectory -Path $O.LogDir
        $createdSource = Register-EventSource -Source $script:EventSource
        if ($restart) { [void](Invoke-Sc -Arguments @('start', $name) -AllowedExitCodes @(0, 1056)) }
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
