# test/installer/print-sc-cmdlines.ps1 - print the sc.exe command lines (the part after "sc.exe")
# that install.ps1 would run for a fresh install, one per line, through its real code path
# (Invoke-PortReporterSetup -> Invoke-Sc -> Join-WindowsCommandLine). Only the Windows-only
# side effects are stubbed: admin check, service query, file copy, log dir, event source, and the
# process start itself, which prints the command line instead of running sc.exe.
# Used by lab_sc_test.sh to replay them verbatim with wine's sc.exe.
#   pwsh -File print-sc-cmdlines.ps1 -ServiceName X -InstallDir 'C:\...' -LogDir 'C:\...' [-StartupType T]
param(
    [Parameter(Mandatory)][string]$ServiceName,
    [Parameter(Mandatory)][string]$InstallDir,
    [Parameter(Mandatory)][string]$LogDir,
    [string]$StartupType = 'Manual'
)
$ErrorActionPreference = 'Stop'
# dot-sourcing install.ps1 binds its own (empty) parameters in this scope: keep ours first
$opts = @{ ServiceName = $ServiceName; InstallDir = $InstallDir; LogDir = $LogDir; StartupType = $StartupType }
$env:PORTREPORTER_INSTALL_NORUN = '1'
. (Join-Path $PSScriptRoot '../../install.ps1')
$exe = Join-Path ([System.IO.Path]::GetTempPath()) "portreporter-print-$PID.exe"
Set-Content -LiteralPath $exe -Value 'stand-in'
function Test-IsAdministrator { $true }
function Get-ServiceState { param($Name) $null }
function New-InstallDirectory { param($Path) $false }
function Copy-InstallFile { param($Source, $Destination) }
function New-LogDirectory { param($Path) $false }
function Register-EventSource { param($Source) $false }
function Invoke-NativeProcess { param($FilePath, $CommandLine) [Console]::Out.WriteLine($CommandLine); @{ ExitCode = 0; Output = '' } }
try {
    $code = Invoke-PortReporterSetup -ExePath $exe @opts -Confirm:$false 6>$null
} finally { Remove-Item -LiteralPath $exe -ErrorAction SilentlyContinue }
exit $code
