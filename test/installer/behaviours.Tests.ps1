# Pester 5 tests of install.ps1's Windows behaviours that need no service manager: the registry,
# file and process steps are mocked at the cmdlet level (Test-Path, New-Item, New-ItemProperty, ...),
# so each test asserts exactly what install.ps1 asks Windows to do. Run by test/installer/run.sh.

BeforeAll {
    $script:InstallPs1 = (Resolve-Path (Join-Path $PSScriptRoot '../../install.ps1')).Path
    $env:PORTREPORTER_INSTALL_NORUN = '1'
    . $script:InstallPs1
    Remove-Item Env:PORTREPORTER_INSTALL_NORUN
}

Describe 'Register-EventSource (issue 15.7: the source must resolve its messages)' {
    BeforeEach {
        $script:Written = @{}
        Mock New-Item {}
        Mock New-ItemProperty { $script:Written[$Name] = @($PropertyType, $Value) }
    }
    It 'an existing key (left without a message file) gets EventMessageFile and TypesSupported rewritten' {
        Mock Test-Path { $true }
        Register-EventSource -Source 'Port Reporter' | Should -BeFalse
        Should -Invoke New-Item -Times 0
        $script:Written['EventMessageFile'] | Should -Be @('ExpandString', '%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll')
        $script:Written['TypesSupported'] | Should -Be @('DWord', 7)
    }
    It 'a missing key is created, then both values are written' {
        Mock Test-Path { $false }
        Register-EventSource -Source 'Port Reporter' | Should -BeTrue
        Should -Invoke New-Item -Times 1 -ParameterFilter { $Path -eq 'HKLM:\SYSTEM\CurrentControlSet\Services\EventLog\Application\Port Reporter' }
        $script:Written.Keys | Sort-Object | Should -Be @('EventMessageFile', 'TypesSupported')
    }
}

Describe 'log directory ACL (set at creation, kept on update, service SID granted)' {
    It 'the service SID of a name is S-1-5-80 + SHA-1 of the upper-cased name (TrustedInstaller vector)' {
        Get-ServiceSid -ServiceName 'TrustedInstaller' | Should -BeExactly 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464'
        Get-ServiceSid -ServiceName 'trustedinstaller' | Should -BeExactly (Get-ServiceSid -ServiceName 'TRUSTEDINSTALLER')
    }
    It 'the SDDL: protected, SYSTEM, Administrators and NT SERVICE\<name>' {
        Get-LogDirSddl -ServiceName 'PortReporter' | Should -BeExactly ('O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;' + (Get-ServiceSid 'PortReporter') + ')')
    }
    It 'a directory created now gets the ACL; an existing one keeps its own; -Reset applies it again' {
        Mock Set-DirectoryAcl {}
        $dir = Join-Path $TestDrive 'logs here'
        New-LogDirectory -Path $dir -ServiceName 'PR2' | Should -BeTrue
        Should -Invoke Set-DirectoryAcl -Times 1 -Exactly -ParameterFilter { $Path -eq $dir -and $Sddl -like '*(A;OICI;FA;;;S-1-5-80-*' }
        New-LogDirectory -Path $dir -ServiceName 'PR2' | Should -BeFalse
        Should -Invoke Set-DirectoryAcl -Times 1 -Exactly
        New-LogDirectory -Path $dir -ServiceName 'PR2' -Reset | Should -BeFalse
        Should -Invoke Set-DirectoryAcl -Times 2 -Exactly
    }
}

Describe 'takeover of a service or event source another program registered' {
    BeforeEach {
        $script:O = @{ ServiceName = 'PortReporter'; Force = $false }
        Mock Get-EventSourceMessageFile { $null }
    }
    It 'ImagePath executable: quoted, unquoted with spaces, with arguments' {
        Get-ImagePathExe '"C:\Program Files\PortReporter\portreporter.exe" service --log-dir "C:\L"' | Should -BeExactly 'C:\Program Files\PortReporter\portreporter.exe'
        Get-ImagePathExe 'C:\WINDOWS\system32\PortReporter.exe' | Should -BeExactly 'C:\WINDOWS\system32\PortReporter.exe'
        Get-ImagePathExe 'C:\Program Files\PR\pr.exe -x' | Should -BeExactly 'C:\Program Files\PR\pr.exe'
        Get-ImagePathExe '' | Should -BeNullOrEmpty
    }
    It 'refuses a PortReporter service that runs another executable, without -Force' {
        Mock Get-ServiceImagePath { 'C:\WINDOWS\system32\PortReporter.exe' }
        { Assert-NoTakeover -O $script:O -Exists $true -TargetExe 'C:\Program Files\PortReporter\portreporter.exe' } |
            Should -Throw "*exists and runs 'C:\WINDOWS\system32\PortReporter.exe'*add -Force to take it over"
        $script:O.Force = $true
        { Assert-NoTakeover -O $script:O -Exists $true -TargetExe 'C:\Program Files\PortReporter\portreporter.exe' } | Should -Not -Throw
    }
    It 'accepts its own service (paths compare without case)' {
        Mock Get-ServiceImagePath { '"C:\PROGRAM FILES\PortReporter\PORTREPORTER.EXE" service --log-dir "C:\L"' }
        { Assert-NoTakeover -O $script:O -Exists $true -TargetExe 'C:\Program Files\PortReporter\portreporter.exe' } | Should -Not -Throw
    }
    It 'refuses an event source registered with another message file, without -Force' {
        Mock Get-EventSourceMessageFile { 'C:\WINDOWS\system32\PortReporterMsgs.dll' }
        { Assert-NoTakeover -O $script:O -Exists $false -TargetExe 'C:\x.exe' } | Should -Throw "*'Port Reporter' is registered with the message file*-Force*"
    }
}

Describe 'upgrade: the old executable is renamed aside, and put back when the copy fails' {
    BeforeEach {
        $script:Dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        [void](New-Item -ItemType Directory -Path $script:Dir)
        $script:Target = Join-Path $script:Dir 'portreporter.exe'
        $script:New = Join-Path $script:Dir 'new.exe'
        Set-Content -LiteralPath $script:Target -Value 'v1'
        Set-Content -LiteralPath $script:New -Value 'v2'
    }
    It 'replaces the file and leaves no .old behind' {
        Install-ExecutableFile -Source $script:New -Destination $script:Target
        Get-Content -LiteralPath $script:Target | Should -Be 'v2'
        Test-Path -LiteralPath "$($script:Target).old" | Should -BeFalse
    }
    It 'a failed copy restores the previous executable and says so' {
        Mock Copy-InstallFile { Set-Content -LiteralPath $Destination -Value 'half'; throw 'The process cannot access the file because it is being used by another process.' }
        { Install-ExecutableFile -Source $script:New -Destination $script:Target } | Should -Throw '*being used by another process*the previous one was put back'
        Get-Content -LiteralPath $script:Target | Should -Be 'v1'
        Test-Path -LiteralPath "$($script:Target).old" | Should -BeFalse
    }
    It 'waits for the stopped service process to exit, bounded' {
        $script:Polls = 0
        Mock Start-Sleep {}
        Mock Test-ProcessRunning { $script:Polls++; $script:Polls -lt 3 }
        Wait-ProcessExit -Id 4242 -TimeoutSeconds 30
        $script:Polls | Should -Be 3
        Mock Test-ProcessRunning { $true }
        { Wait-ProcessExit -Id 4242 -TimeoutSeconds 0 } | Should -Throw '*pid 4242*did not exit*'
        Wait-ProcessExit -Id 0  # no process: nothing to wait for
    }
}

Describe '-Start waits for the outcome' {
    BeforeEach { Mock Invoke-Sc { 0 }; Mock Start-Sleep {} }
    It 'Running: no error' {
        $script:Seq = [System.Collections.Generic.Queue[string]]::new([string[]]@('StartPending', 'StartPending', 'Running'))
        Mock Get-ServiceState { $script:Seq.Dequeue() }
        { Start-InstalledService -Name 'PortReporter' } | Should -Not -Throw
        Should -Invoke Get-ServiceState -Times 3 -Exactly
    }
    It 'Stopped: the exit codes and the last error event, not "started"' {
        Mock Get-ServiceState { 'Stopped' }
        Mock Get-ServiceExitCodes { @{ Win32 = 1066; Service = 1 } }
        Mock Get-LastServiceError { 'The Port Reporter service could not start: GetExtendedTcpTable failed with code 3221225473' }
        { Start-InstalledService -Name 'PortReporter' } |
            Should -Throw "service 'PortReporter' did not start: it stopped with win32 exit code 1066, service exit code 1; last error event: The Port Reporter service could not start: GetExtendedTcpTable*"
    }
    It 'still pending after the wait: says so' {
        Mock Get-ServiceState { 'StartPending' }
        Mock Wait-ServiceStart { 'StartPending' }
        { Start-InstalledService -Name 'PortReporter' } | Should -Throw "*did not reach Running within 60 s (state: StartPending)*"
    }
}

Describe '-Environment (the service gets variables without a reboot)' {
    It 'NAME=value lines, sorted, values kept verbatim' {
        $lines = ConvertTo-EnvironmentLines @{ B_TOKEN = 'x=y z'; A = '' }
        $lines | Should -Be @('A=', 'B_TOKEN=x=y z')
    }
    It 'rejects a bad name or a value with a line break' {
        { ConvertTo-EnvironmentLines @{ 'A B' = 'x' } } | Should -Throw "invalid -Environment name 'A B'*"
        { ConvertTo-EnvironmentLines @{ A = "x`ny" } } | Should -Throw '*line break*'
    }
    It 'writes REG_MULTI_SZ Environment and restricts the service key to SYSTEM and Administrators' {
        Mock New-ItemProperty {}
        Mock Set-RegistryKeyAcl {}
        Set-ServiceEnvironment -Name 'PortReporter' -Lines @('TOKEN=s3cret')
        Should -Invoke New-ItemProperty -Times 1 -ParameterFilter { $LiteralPath -eq 'HKLM:\SYSTEM\CurrentControlSet\Services\PortReporter' -and $Name -eq 'Environment' -and $PropertyType -eq 'MultiString' -and "$Value" -eq 'TOKEN=s3cret' }
        Should -Invoke Set-RegistryKeyAcl -Times 1 -ParameterFilter { $Sddl -eq 'O:BAD:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)' }
    }
    It 'is checked with the other parameters, and not with -Uninstall' {
        $exe = Join-Path $TestDrive 'portreporter.exe'; Set-Content -LiteralPath $exe -Value 'x'
        $o = Resolve-SetupOptions -P @{ ExePath = $exe; InstallDir = 'C:\P'; LogDir = 'C:\L'; Environment = @{ T = 'v' } }
        $o.EnvironmentLines | Should -Be @('T=v')
        { Resolve-SetupOptions -P @{ ExePath = $exe; InstallDir = 'C:\P'; LogDir = 'C:\L'; Uninstall = $true; Environment = @{ T = 'v' } } } | Should -Throw '*-Environment cannot be combined with -Uninstall*'
    }
}

Describe '32-bit PowerShell on 64-bit Windows' {
    It 'the default install directory is the 64-bit Program Files ($env:ProgramW6432)' {
        $saved = $env:ProgramFiles, $env:ProgramW6432, $env:SystemRoot
        try {
            $env:ProgramFiles = 'C:\Program Files (x86)'; $env:ProgramW6432 = 'C:\Program Files'; $env:SystemRoot = 'C:\Windows'
            $exe = Join-Path $TestDrive 'portreporter.exe'; Set-Content -LiteralPath $exe -Value 'x'
            (Resolve-SetupOptions -P @{ ExePath = $exe }).InstallDir | Should -BeExactly 'C:\Program Files\PortReporter'
        } finally { $env:ProgramFiles, $env:ProgramW6432, $env:SystemRoot = $saved }
    }
}

Describe 'execution policy' {
    It 'the first line of output says how to run the script when PowerShell blocks it' {
        $out = @(Invoke-PortReporterSetup -ExePath (Join-Path $TestDrive 'missing.exe') -InstallDir 'C:\P' -LogDir 'C:\L' -Confirm:$false 6>&1 2>$null)
        "$($out[0])" | Should -BeLike '*Unblock-File .\install.ps1*-ExecutionPolicy Bypass -File .\install.ps1*'
    }
}
