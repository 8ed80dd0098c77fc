# Pester 5 tests of install.ps1, run on Linux pwsh (bash test/installer/run.sh).
#
# install.ps1 is dot-sourced with PORTREPORTER_INSTALL_NORUN=1, which defines its functions
# without running it. The Windows-only parts are mocked with a small fake service manager:
#   Invoke-NativeProcess  (the process start under Invoke-Sc: records the exact sc.exe command
#                          line and answers with an exit code; Invoke-Sc itself runs for real)
#   Get-ServiceState, Test-IsAdministrator, New-LogDirectory, Register-EventSource,
#   Unregister-EventSource, Start-Sleep
# Files (the exe, the config, InstallDir, LogDir) are real, in Pester's TestDrive, in folders
# whose names contain spaces.

BeforeAll {
    $script:InstallPs1 = (Resolve-Path (Join-Path $PSScriptRoot '../../install.ps1')).Path
    $env:PORTREPORTER_INSTALL_NORUN = '1'
    . $script:InstallPs1
    Remove-Item Env:PORTREPORTER_INSTALL_NORUN
    # run.sh passes the pwsh it installed (a dotnet tool, whose process is dotnet itself)
    $script:Pwsh = if ($env:PR_PWSH) { $env:PR_PWSH } else { (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source }
    $script:Desc = 'Logs which process used which TCP and UDP port (successor to Microsoft Port Reporter).'

    # --- the fake service control manager -------------------------------------------------------
    function Reset-Fake {
        $script:State = $null            # $null = no service; else 'Stopped' / 'Running'
        $script:IsAdmin = $true
        $script:Sc = New-Object System.Collections.Generic.List[string]      # command lines
        $script:Events = New-Object System.Collections.Generic.List[string]  # ordered actions
        $script:FailOn = @{}             # sc verb -> exit code
        $script:Errors = New-Object System.Collections.Generic.List[string]
        $script:EventSourceExists = $false
    }
    function Get-ScVerbs { @($script:Sc | ForEach-Object { ($_ -split ' ')[0] }) }

    function Use-Fakes {
        Mock Test-IsAdministrator { $script:IsAdmin }
        Mock Get-ServiceState { $script:State }
        Mock Start-Sleep {}
        Mock Write-InstallError { $script:Errors.Add($Message) }
        Mock Invoke-NativeProcess {
            $script:Sc.Add($CommandLine)
            $verb = ($CommandLine -split ' ')[0]
            $script:Events.Add("sc $verb")
            if ($script:FailOn.ContainsKey($verb)) {
                $code = $script:FailOn[$verb]
                return @{ ExitCode = $code; Output = "[SC] $verb FAILED ${code}:`r`n`r`nSome system message.`r`n" }
            }
            switch ($verb) {
                'create' { $script:State = 'Stopped' }
                'delete' { $script:State = $null }
                'stop' { $script:State = 'Stopped' }
                'start' { $script:State = 'Running' }
            }
            return @{ ExitCode = 0; Output = "[SC] $verb SUCCESS`r`n" }
        }
        Mock New-LogDirectory {
            $script:Events.Add('logdir')
            if (Test-Path -LiteralPath $Path) { return $false }
            [void](New-Item -ItemType Directory -Path $Path)
            return $true
        }
        Mock Register-EventSource {
            $script:Events.Add('eventsource')
            if ($script:EventSourceExists) { return $false }
            $script:EventSourceExists = $true
            return $true
        }
        Mock Unregister-EventSource { $script:Events.Add('unregister'); $script:EventSourceExists = $false }
        Mock Copy-InstallFile { $script:Events.Add('copy'); Copy-Item -LiteralPath $Source -Destination $Destination -Force }
        Mock Get-ServiceProcessId { 4242 }
        Mock Wait-ProcessExit { $script:Events.Add("wait $Id") }
    }

    function New-Layout {
        # A real source exe, and InstallDir / LogDir paths (not created) with spaces.
        $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N').Substring(0, 8))
        $src = Join-Path $root 'build out'
        [void](New-Item -ItemType Directory -Path $src)
        $exe = Join-Path $src 'portreporter.exe'
        Set-Content -LiteralPath $exe -Value 'exe v1'
        return @{
            Root = $root
            Exe = $exe
            InstallDir = Join-Path $root 'Program Files/Port Reporter'
            LogDir = Join-Path $root 'Log Files/Port Reporter'
        }
    }

    function Invoke-Setup {
        # Runs the whole script logic the way `install.ps1 @params` does; returns the exit code.
        param([hashtable]$L, [hashtable]$Extra = @{})
        $p = @{ ExePath = $L.Exe; InstallDir = $L.InstallDir; LogDir = $L.LogDir; Confirm = $false }
        foreach ($k in $Extra.Keys) { $p[$k] = $Extra[$k] }
        return (Invoke-PortReporterSetup @p 6>$null)
    }

    function Get-ExpectedCreate {
        param($L, [string]$Start = 'demand', [string]$Verb = 'create', [string]$Name = 'PortReporter', [string]$Display = '"Port Reporter"')
        "$Verb $Name binPath= `"\`"$($L.InstallDir)\portreporter.exe\`" service --log-dir \`"$($L.LogDir)\`"`" start= $Start DisplayName= $Display"
    }
}

Describe 'sc.exe command lines (pure functions, Windows paths)' {
    It 'quotes the binary path and the log dir, with spaces in both (create)' {
        $lists = Get-ScInstallArgumentList -ServiceName PortReporter -InstallDir 'C:\Program Files\PortReporter' -LogDir 'D:\My Logs\Port Reporter' -StartupType Manual
        $lists.Count | Should -Be 4
        $lists[0] | Should -Be @('create', 'PortReporter', 'binPath=', '"C:\Program Files\PortReporter\portreporter.exe" service --log-dir "D:\My Logs\Port Reporter"', 'start=', 'demand', 'DisplayName=', 'Port Reporter')
        Join-WindowsCommandLine $lists[0] | Should -BeExactly 'create PortReporter binPath= "\"C:\Program Files\PortReporter\portreporter.exe\" service --log-dir \"D:\My Logs\Port Reporter\"" start= demand DisplayName= "Port Reporter"'
    }
    It 'adds --config with the installed config file, quoted' {
        Get-ServiceBinaryPath -InstallDir 'C:\Program Files\PortReporter' -LogDir 'C:\L' -WithConfig | Should -BeExactly '"C:\Program Files\PortReporter\portreporter.exe" service --log-dir "C:\L" --config "C:\Program Files\PortReporter\portreporter.jsonc"'
    }
    It 'quotes the binary path even without spaces' {
        Get-ServiceBinaryPath -InstallDir 'C:\PR' -LogDir 'C:\L' | Should -BeExactly '"C:\PR\portreporter.exe" service --log-dir "C:\L"'
    }
    It 'produces the default command line of the original layout' {
        $l = Get-ScInstallArgumentList -ServiceName PortReporter -InstallDir 'C:\Program Files\PortReporter' -LogDir 'C:\Windows\System32\LogFiles\PortReporter' -StartupType Manual
        Join-WindowsCommandLine $l[0] | Should -BeExactly 'create PortReporter binPath= "\"C:\Program Files\PortReporter\portreporter.exe\" service --log-dir \"C:\Windows\System32\LogFiles\PortReporter\"" start= demand DisplayName= "Port Reporter"'
    }
    It 'description and failure actions' {
        $l = Get-ScInstallArgumentList -ServiceName PortReporter -InstallDir 'C:\P' -LogDir 'C:\L' -StartupType Manual
        Join-WindowsCommandLine $l[1] | Should -BeExactly "description PortReporter `"$script:Desc`""
        Join-WindowsCommandLine $l[2] | Should -BeExactly 'failure PortReporter reset= 86400 actions= restart/60000/restart/60000//'
        Join-WindowsCommandLine $l[3] | Should -BeExactly 'failureflag PortReporter 1'
    }
    It 'start type <Type> -> start= <Sc> (create and config)' -TestCases @(
        @{ Type = 'Manual'; Sc = 'demand' }, @{ Type = 'Automatic'; Sc = 'auto' }, @{ Type = 'AutomaticDelayed'; Sc = 'delayed-auto' }
    ) {
        (Get-ScInstallArgumentList -ServiceName PortReporter -InstallDir 'C:\P' -LogDir 'C:\L' -StartupType $Type)[0][5] | Should -BeExactly $Sc
        $u = (Get-ScInstallArgumentList -ServiceName PortReporter -InstallDir 'C:\P' -LogDir 'C:\L' -StartupType $Type -Update)[0]
        $u[0] | Should -Be 'config'
        $u[5] | Should -BeExactly $Sc
    }
    It 'another service name gets its own display name' {
        (Get-ScInstallArgumentList -ServiceName PR2 -InstallDir 'C:\P' -LogDir 'C:\L' -StartupType Manual)[0][7] | Should -BeExactly 'Port Reporter (PR2)'
    }
    It 'a drive-root log dir keeps its backslash without escaping the closing quote' {
        Get-NormalizedDirectory 'D:\' | Should -BeExactly 'D:\'
        Get-NormalizedDirectory 'C:\Logs\PR\\' | Should -BeExactly 'C:\Logs\PR'
        Get-ServiceBinaryPath -InstallDir 'C:\P' -LogDir 'D:\' | Should -BeExactly '"C:\P\portreporter.exe" service --log-dir "D:\\"'
    }
    It 'ConvertTo-WindowsArgument: <In> -> <Out>' -TestCases @(
        @{ In = 'plain'; Out = 'plain' }
        @{ In = 'a b'; Out = '"a b"' }
        @{ In = ''; Out = '""' }
        @{ In = 'a"b'; Out = '"a\"b"' }
        @{ In = 'a\"b'; Out = '"a\\\"b"' }
        @{ In = 'C:\x y\'; Out = '"C:\x y\\"' }
        @{ In = 'C:\x\y'; Out = 'C:\x\y' }
    ) {
        ConvertTo-WindowsArgument -Value $In | Should -BeExactly $Out
    }
}

Describe 'Invoke-Sc against a stand-in sc.exe (real process, real argv parsing)' {
    BeforeAll {
        $script:FakeSc = Join-Path $TestDrive 'fake sc.sh'
        $script:ArgvFile = Join-Path $TestDrive 'argv.bin'
        Set-Content -LiteralPath $script:FakeSc -Value @(
            '#!/bin/bash'
            'printf "%s\0" "$@" > "$FAKE_SC_ARGV"'
            'echo "[SC] fake output line 1"'
            'echo "second line" >&2'
            'exit "${FAKE_SC_EXIT:-0}"'
        )
        chmod +x $script:FakeSc
        $script:ScExe = $script:FakeSc
        $env:FAKE_SC_ARGV = $script:ArgvFile
    }
    AfterAll { $script:ScExe = $null; Remove-Item Env:FAKE_SC_ARGV, Env:FAKE_SC_EXIT -ErrorAction SilentlyContinue }
    BeforeEach { Remove-Item -LiteralPath $script:ArgvFile -ErrorAction SilentlyContinue; $env:FAKE_SC_EXIT = '0' }

    It 'sc.exe receives exactly the argument list (PSNativeCommandArgumentPassing=<Mode>)' -TestCases @(
        @{ Mode = 'Legacy' }, @{ Mode = 'Standard' }, @{ Mode = 'Windows' }
    ) {
        $PSNativeCommandArgumentPassing = $Mode
        $a = (Get-ScInstallArgumentList -ServiceName PortReporter -InstallDir 'C:\Program Files\Port Reporter' -LogDir 'C:\My Logs\PR\' -StartupType AutomaticDelayed)[0]
        Invoke-Sc -Arguments $a | Should -Be 0
        $got = ([System.IO.File]::ReadAllText($script:ArgvFile)).TrimEnd([char]0) -split [char]0
        $got | Should -Be $a
        $got[3] | Should -BeExactly '"C:\Program Files\Port Reporter\portreporter.exe" service --log-dir "C:\My Logs\PR\\"'
        $global:LASTEXITCODE | Should -Be 0
    }
    It 'arguments with quotes, trailing backslashes and empty strings survive' {
        $a = @('x', '', 'a"b', 'c\', 'd e\', '\\srv\share\p q\', 'f\\"g')
        Invoke-Sc -Arguments $a | Should -Be 0
        ([System.IO.File]::ReadAllText($script:ArgvFile)).TrimEnd([char]0) -split [char]0 | Should -Be $a
    }
    It 'a failing exit code becomes one line with the code, its name and the output' {
        $env:FAKE_SC_EXIT = '5'
        { Invoke-Sc -Arguments @('create', 'PortReporter') } | Should -Throw -ExpectedMessage 'sc.exe create PortReporter failed with exit code 5 (ERROR_ACCESS_DENIED): `[SC`] fake output line 1 second line'
        $global:LASTEXITCODE | Should -Be 5
    }
    It 'allowed exit codes pass' {
        $env:FAKE_SC_EXIT = '62'
        Invoke-Sc -Arguments @('stop', 'X') -AllowedExitCodes @(0, 62) | Should -Be 62
    }
}

Describe 'install' {
    BeforeEach { Reset-Fake; Use-Fakes; $script:L = New-Layout }

    It 'fresh install: copies the exe, then create / description / failure with the exact arguments' {
        Invoke-Setup $L | Should -Be 0
        $script:Errors | Should -BeNullOrEmpty
        $script:Sc.Count | Should -Be 4
        $script:Sc[0] | Should -BeExactly (Get-ExpectedCreate $L)
        $script:Sc[1] | Should -BeExactly "description PortReporter `"$script:Desc`""
        $script:Sc[2] | Should -BeExactly 'failure PortReporter reset= 86400 actions= restart/60000/restart/60000//'
        $script:Sc[3] | Should -BeExactly 'failureflag PortReporter 1'
        Get-Content -LiteralPath (Join-Path $L.InstallDir 'portreporter.exe') | Should -Be 'exe v1'
        Test-Path -LiteralPath $L.LogDir | Should -BeTrue
        $script:Events -join ',' | Should -Be 'copy,sc create,sc description,sc failure,sc failureflag,logdir,eventsource'
        Should -Invoke Register-EventSource -Times 1 -ParameterFilter { $Source -eq 'Port Reporter' }
        Should -Invoke New-LogDirectory -Times 1 -ParameterFilter { $Path -eq $L.LogDir }
    }
    It 'start type <Type>: start= <Sc>' -TestCases @(
        @{ Type = 'Manual'; Sc = 'demand' }, @{ Type = 'Automatic'; Sc = 'auto' }, @{ Type = 'AutomaticDelayed'; Sc = 'delayed-auto' }
    ) {
        Invoke-Setup $L @{ StartupType = $Type } | Should -Be 0
        $script:Sc[0] | Should -BeExactly (Get-ExpectedCreate $L -Start $Sc)
    }
    It '-Start starts the service after everything else' {
        Invoke-Setup $L @{ Start = $true } | Should -Be 0
        Get-ScVerbs | Should -Be @('create', 'description', 'failure', 'failureflag', 'start')
        $script:Sc[4] | Should -BeExactly 'start PortReporter'
    }
    It '-ConfigPath: copied as portreporter.jsonc and passed with --config; kept by a later run' {
        $cfg = Join-Path $L.Root 'my config.json'
        Set-Content -LiteralPath $cfg -Value '{"a":1}'
        Invoke-Setup $L @{ ConfigPath = $cfg } | Should -Be 0
        Get-Content -LiteralPath (Join-Path $L.InstallDir 'portreporter.jsonc') | Should -Be '{"a":1}'
        $withConfig = "create PortReporter binPath= `"\`"$($L.InstallDir)\portreporter.exe\`" service --log-dir \`"$($L.LogDir)\`" --config \`"$($L.InstallDir)\portreporter.jsonc\`"`" start= demand DisplayName= `"Port Reporter`""
        $script:Sc[0] | Should -BeExactly $withConfig
        Invoke-Setup $L | Should -Be 0
        $script:Sc[4] | Should -BeExactly ($withConfig -replace '^create', 'config')
    }
    It 'a custom service name is used everywhere, with its own display name' {
        Invoke-Setup $L @{ ServiceName = 'PR-Test_2' } | Should -Be 0
        $script:Sc[0] | Should -BeExactly (Get-ExpectedCreate $L -Name 'PR-Test_2' -Display '"Port Reporter (PR-Test_2)"')
        Get-ScVerbs | Should -Be @('create', 'description', 'failure', 'failureflag')
        $script:Sc[1] | Should -BeLike 'description PR-Test_2 *'
    }
    It 'defaults: exe next to the script, %ProgramFiles%\PortReporter, %SystemRoot%\System32\LogFiles\PortReporter' {
        $saved = $env:ProgramFiles, $env:SystemRoot
        try {
            $env:ProgramFiles = 'C:\Program Files'; $env:SystemRoot = 'C:\Windows'
            Mock Test-Path { $true } -ParameterFilter { $LiteralPath -eq (Join-Path (Split-Path $script:InstallPs1) 'portreporter.exe') }
            $o = Resolve-SetupOptions -P @{ StartupType = 'Manual'; ServiceName = 'PortReporter' }
            $o.ExePath | Should -Be (Join-Path (Split-Path $script:InstallPs1) 'portreporter.exe')
            $o.InstallDir | Should -BeExactly 'C:\Program Files\PortReporter'
            $o.LogDir | Should -BeExactly 'C:\Windows\System32\LogFiles\PortReporter'
        } finally { $env:ProgramFiles, $env:SystemRoot = $saved }
    }

    Context 'idempotency (service already installed)' {
        It 'a stopped service is updated with config, not create; not started' {
            $script:State = 'Stopped'
            Invoke-Setup $L | Should -Be 0
            $script:Sc[0] | Should -BeExactly (Get-ExpectedCreate $L -Verb config)
            Get-ScVerbs | Should -Be @('config', 'description', 'failure', 'failureflag')
        }
        It 'a running service is stopped before the exe is replaced, and started again' {
            $script:State = 'Running'
            [void](New-Item -ItemType Directory -Path $L.InstallDir)
            Set-Content -LiteralPath (Join-Path $L.InstallDir 'portreporter.exe') -Value 'exe v0'
            Invoke-Setup $L | Should -Be 0
            $script:Events -join ',' | Should -Be 'sc stop,wait 4242,copy,sc config,sc description,sc failure,sc failureflag,logdir,eventsource,sc start'
            Get-Content -LiteralPath (Join-Path $L.InstallDir 'portreporter.exe') | Should -Be 'exe v1'
        }
        It 'running the installer twice: create, then config' {
            Invoke-Setup $L | Should -Be 0
            Set-Content -LiteralPath $L.Exe -Value 'exe v2'
            Invoke-Setup $L @{ StartupType = 'Automatic' } | Should -Be 0
            Get-ScVerbs | Should -Be @('create', 'description', 'failure', 'failureflag', 'config', 'description', 'failure', 'failureflag')
            $script:Sc[4] | Should -BeExactly (Get-ExpectedCreate $L -Verb config -Start auto)
            Get-Content -LiteralPath (Join-Path $L.InstallDir 'portreporter.exe') | Should -Be 'exe v2'
            $script:Errors | Should -BeNullOrEmpty
        }
        It 'a service that does not stop in time: one error line, exe not replaced' {
            $script:State = 'Running'
            Mock Get-ServiceState { 'Running' }
            [void](New-Item -ItemType Directory -Path $L.InstallDir)
            Set-Content -LiteralPath (Join-Path $L.InstallDir 'portreporter.exe') -Value 'exe v0'
            Mock Stop-InstalledService { throw "service 'PortReporter' did not stop within 60 s (state: Running)" }
            Invoke-Setup $L | Should -Be 1
            $script:Errors.Count | Should -Be 1
            $script:Errors[0] | Should -BeLike '*did not stop*'
            Get-Content -LiteralPath (Join-Path $L.InstallDir 'portreporter.exe') | Should -Be 'exe v0'
        }
    }

    Context '-WhatIf and -Confirm' {
        It '-WhatIf runs no sc.exe, copies nothing, creates nothing' {
            $code = Invoke-PortReporterSetup -ExePath $L.Exe -InstallDir $L.InstallDir -LogDir $L.LogDir -WhatIf 6>$null
            $code | Should -Be 0
            $script:Sc.Count | Should -Be 0
            Should -Invoke Invoke-NativeProcess -Times 0
            Should -Invoke Copy-InstallFile -Times 0
            Should -Invoke New-LogDirectory -Times 0
            Should -Invoke Register-EventSource -Times 0
            Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
            Test-Path -LiteralPath $L.LogDir | Should -BeFalse
        }
        It '-WhatIf -Uninstall removes nothing' {
            $script:State = 'Running'
            [void](New-Item -ItemType Directory -Path $L.InstallDir, $L.LogDir)
            Invoke-PortReporterSetup -InstallDir $L.InstallDir -LogDir $L.LogDir -Uninstall -RemoveLogs -WhatIf 6>$null | Should -Be 0
            Should -Invoke Invoke-NativeProcess -Times 0
            Test-Path -LiteralPath $L.InstallDir | Should -BeTrue
            Test-Path -LiteralPath $L.LogDir | Should -BeTrue
        }
    }

    Context 'errors: one line, exit code 1' {
        It 'not administrator' {
            $script:IsAdmin = $false
            Invoke-Setup $L | Should -Be 1
            $script:Errors.Count | Should -Be 1
            $script:Errors[0] | Should -BeLike 'administrator rights are required*'
            $script:Sc.Count | Should -Be 0
            Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
        }
        It 'exe missing' {
            Remove-Item -LiteralPath $L.Exe
            Invoke-Setup $L | Should -Be 1
            $script:Errors.Count | Should -Be 1
            $script:Errors[0] | Should -BeExactly "executable not found: $($L.Exe)"
            $script:Sc.Count | Should -Be 0
        }
        It 'config file missing' {
            Invoke-Setup $L @{ ConfigPath = (Join-Path $L.Root 'nope.json') } | Should -Be 1
            $script:Errors[0] | Should -BeLike 'config file not found:*'
            $script:Sc.Count | Should -Be 0
        }
        It 'bad parameter combination / service name: <Why>' -TestCases @(
            @{ Why = 'RemoveLogs without Uninstall'; X = @{ RemoveLogs = $true }; Msg = '-RemoveLogs is only valid with -Uninstall' }
            @{ Why = 'Start with Uninstall'; X = @{ Start = $true; Uninstall = $true }; Msg = '-Start cannot be combined with -Uninstall' }
            @{ Why = 'service name with a space'; X = @{ ServiceName = 'Port Reporter' }; Msg = "invalid -ServiceName 'Port Reporter'*" }
            @{ Why = 'quote in a path'; X = @{ LogDir = 'C:\a"b' }; Msg = 'invalid -LogDir*' }
        ) {
            Invoke-Setup $L $X | Should -Be 1
            $script:Errors.Count | Should -Be 1
            $script:Errors[0] | Should -BeLike $Msg
            $script:Sc.Count | Should -Be 0
        }
        It 'sc.exe create fails with <Code>: nothing to roll back, install dir removed' -TestCases @(
            @{ Code = 1073; Name = 'ERROR_SERVICE_EXISTS' }, @{ Code = 5; Name = 'ERROR_ACCESS_DENIED' }
        ) {
            $script:FailOn['create'] = $Code
            Invoke-Setup $L | Should -Be 1
            $script:Errors.Count | Should -Be 1
            $script:Errors[0] | Should -BeExactly "sc.exe create PortReporter failed with exit code $Code ($Name): [SC] create FAILED ${Code}: Some system message. (rolled back: install directory removed)"
            Get-ScVerbs | Should -Be @('create')
            Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
        }
        It 'a step after create fails (<Verb> -> <Code>): the new service is deleted' -TestCases @(
            @{ Verb = 'description'; Code = 5 }, @{ Verb = 'failure'; Code = 1073 }, @{ Verb = 'failureflag'; Code = 1072 }
        ) {
            $script:FailOn[$Verb] = $Code
            Invoke-Setup $L | Should -Be 1
            $script:Errors.Count | Should -Be 1
            $script:Errors[0] | Should -BeLike "sc.exe $Verb PortReporter failed with exit code $Code*rolled back: service 'PortReporter' deleted, install directory removed)"
            (Get-ScVerbs)[-1] | Should -Be 'delete'
            $script:Sc[-1] | Should -BeExactly 'delete PortReporter'
            $script:State | Should -BeNullOrEmpty
            Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
        }
        It 'the log directory cannot be made: the new service is deleted' {
            Mock New-LogDirectory { throw 'Access to the path is denied.' }
            Invoke-Setup $L | Should -Be 1
            $script:Errors[0] | Should -BeLike "Access to the path is denied. (rolled back: service 'PortReporter' deleted*"
            Get-ScVerbs | Should -Be @('create', 'description', 'failure', 'failureflag', 'delete')
        }
        It 'the event source cannot be registered: service deleted, new log dir removed' {
            Mock Register-EventSource { throw 'Requested registry access is not allowed.' }
            Invoke-Setup $L | Should -Be 1
            $script:Errors[0] | Should -BeExactly "Requested registry access is not allowed. (rolled back: service 'PortReporter' deleted, log directory removed, install directory removed)"
            Test-Path -LiteralPath $L.LogDir | Should -BeFalse
        }
        It '-Start fails (1053): the new service and the event source are removed' {
            $script:FailOn['start'] = 1053
            Invoke-Setup $L @{ Start = $true } | Should -Be 1
            $script:Errors[0] | Should -BeLike "sc.exe start PortReporter failed with exit code 1053*(rolled back: service 'PortReporter' deleted, event source removed, log directory removed, install directory removed)"
            Should -Invoke Unregister-EventSource -Times 1
        }
        It 'the rollback delete fails too: both in the one line' {
            $script:FailOn['description'] = 5
            $script:FailOn['delete'] = 1072
            Invoke-Setup $L | Should -Be 1
            $script:Errors.Count | Should -Be 1
            $script:Errors[0] | Should -BeLike "sc.exe description PortReporter failed with exit code 5*deleting service 'PortReporter' ALSO FAILED: sc.exe delete PortReporter failed with exit code 1072 (ERROR_SERVICE_MARKED_FOR_DELETE)*"
        }
        It 'an update that fails does not delete the existing service' {
            $script:State = 'Stopped'
            $script:FailOn['config'] = 5
            Invoke-Setup $L | Should -Be 1
            $script:Errors[0] | Should -BeExactly 'sc.exe config PortReporter failed with exit code 5 (ERROR_ACCESS_DENIED): [SC] config FAILED 5: Some system message.'
            Get-ScVerbs | Should -Be @('config')
            $script:State | Should -Be 'Stopped'
        }
    }
}

Describe 'uninstall' {
    BeforeEach {
        Reset-Fake; Use-Fakes; $script:L = New-Layout
        [void](New-Item -ItemType Directory -Path $L.InstallDir, $L.LogDir)
        Set-Content -LiteralPath (Join-Path $L.InstallDir 'portreporter.exe') -Value 'exe'
        Set-Content -LiteralPath (Join-Path $L.LogDir 'PR-1.log') -Value 'log'
        $script:EventSourceExists = $true
    }
    It 'a running service is stopped and deleted; InstallDir removed; logs and event source kept' {
        $script:State = 'Running'
        Invoke-Setup $L @{ Uninstall = $true } | Should -Be 0
        $script:Sc | Should -Be @('stop PortReporter', 'delete PortReporter')
        Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $L.LogDir 'PR-1.log') | Should -BeTrue
        Should -Invoke Unregister-EventSource -Times 0
    }
    It 'a stopped service is only deleted' {
        $script:State = 'Stopped'
        Invoke-Setup $L @{ Uninstall = $true } | Should -Be 0
        $script:Sc | Should -Be @('delete PortReporter')
    }
    It '-RemoveLogs also removes the logs and the event source' {
        $script:State = 'Stopped'
        Invoke-Setup $L @{ Uninstall = $true; RemoveLogs = $true } | Should -Be 0
        Test-Path -LiteralPath $L.LogDir | Should -BeFalse
        Should -Invoke Unregister-EventSource -Times 1 -ParameterFilter { $Source -eq 'Port Reporter' }
    }
    It 'no service installed: no sc.exe call, files still removed, exit 0' {
        Invoke-Setup $L @{ Uninstall = $true } | Should -Be 0
        $script:Sc.Count | Should -Be 0
        Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
    }
    It 'sc.exe delete fails with 5: one line, exit 1, files kept' {
        $script:State = 'Stopped'
        $script:FailOn['delete'] = 5
        Invoke-Setup $L @{ Uninstall = $true } | Should -Be 1
        $script:Errors.Count | Should -Be 1
        $script:Errors[0] | Should -BeLike 'sc.exe delete PortReporter failed with exit code 5 (ERROR_ACCESS_DENIED)*'
        Test-Path -LiteralPath $L.InstallDir | Should -BeTrue
    }
    It 'not administrator: nothing happens' {
        $script:IsAdmin = $false; $script:State = 'Running'
        Invoke-Setup $L @{ Uninstall = $true } | Should -Be 1
        $script:Sc.Count | Should -Be 0
        Test-Path -LiteralPath $L.InstallDir | Should -BeTrue
    }
    It 'refuses to remove a protected folder (<Dir>)' -TestCases @(@{ Dir = '/' }, @{ Dir = 'C:\' }, @{ Dir = 'HOME' }) {
        if ($Dir -eq 'HOME') { $Dir = $env:HOME }
        Invoke-PortReporterSetup -InstallDir $Dir -LogDir $L.LogDir -Uninstall -Confirm:$false 6>$null | Should -Be 1
        $script:Errors[0] | Should -BeLike 'refusing to remove the protected folder*'
        $script:Sc.Count | Should -Be 0
    }
}

Describe 'install.ps1 as a process (pwsh -File)' {
    BeforeAll {
        function Invoke-Script {
            param([string[]]$ArgList, [string]$Stdin = '', [string]$File = $script:InstallPs1)
            $psi = New-Object System.Diagnostics.ProcessStartInfo
            $psi.FileName = $script:Pwsh
            foreach ($a in @('-NoLogo', '-NoProfile', '-File', $File) + $ArgList) { $psi.ArgumentList.Add($a) }
            $psi.UseShellExecute = $false
            $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
            $psi.Environment['NO_COLOR'] = '1'
            $psi.Environment.Remove('PORTREPORTER_INSTALL_NORUN') | Out-Null
            $p = [System.Diagnostics.Process]::Start($psi)
            $p.StandardInput.Write($Stdin); $p.StandardInput.Close()
            $o = $p.StandardOutput.ReadToEndAsync(); $e = $p.StandardError.ReadToEndAsync()
            $p.WaitForExit()
            return @{ Code = $p.ExitCode; Out = $o.Result; Err = $e.Result; ErrLines = @($e.Result -split "`r?`n" | Where-Object { $_ }) }
        }
    }
    BeforeEach { $script:L = New-Layout }

    It 'not administrator: exactly one stderr line, exit 1' {
        $r = Invoke-Script @('-ExePath', $L.Exe, '-InstallDir', $L.InstallDir, '-LogDir', $L.LogDir, '-Confirm:$false')
        $r.Code | Should -Be 1
        $r.ErrLines.Count | Should -Be 1
        $r.ErrLines[0] | Should -BeExactly 'install.ps1: error: administrator rights are required: run this from an elevated PowerShell (Run as administrator)'
        Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
    }
    It 'exe missing: exactly one stderr line, exit 1' {
        $r = Invoke-Script @('-ExePath', (Join-Path $L.Root 'none.exe'), '-InstallDir', $L.InstallDir, '-LogDir', $L.LogDir)
        $r.Code | Should -Be 1
        $r.ErrLines.Count | Should -Be 1
        $r.ErrLines[0] | Should -BeLike 'install.ps1: error: executable not found: *none.exe'
    }
    It '-WhatIf prints the plan with the exact sc.exe lines, changes nothing, exit 0' {
        $r = Invoke-Script @('-ExePath', $L.Exe, '-InstallDir', $L.InstallDir, '-LogDir', $L.LogDir, '-WhatIf')
        $r.Code | Should -Be 0
        $r.Out | Should -BeLike '*What if: Install the service*'
        $r.Out | Should -BeLike ('*  sc.exe ' + (Get-ExpectedCreate $L) + '*')
        Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
    }
    It 'Get-Help shows the synopsis, every parameter and the examples' {
        $h = Get-Help $script:InstallPs1 -Full
        $h.Synopsis | Should -BeLike 'Installs, updates or removes the Port Reporter Windows service*'
        $names = @($h.parameters.parameter | ForEach-Object { $_.name })
        foreach ($n in 'ExePath', 'InstallDir', 'LogDir', 'StartupType', 'ServiceName', 'Start', 'Uninstall', 'RemoveLogs', 'ConfigPath') {
            $names | Should -Contain $n
            ($h.parameters.parameter | Where-Object name -EQ $n).description.Text | Should -Not -BeNullOrEmpty
        }
        @($h.examples.example).Count | Should -BeGreaterOrEqual 3
        (Get-Command $script:InstallPs1).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command $script:InstallPs1).Parameters.Keys | Should -Contain 'Confirm'
    }

    Context '-Confirm (the prompt answered on stdin; admin and sc.exe stubbed in a harness)' {
        BeforeAll {
            $script:Harness = Join-Path $TestDrive 'harness.ps1'
            Set-Content -LiteralPath $script:Harness -Value @'
param([string]$Exe, [string]$Inst, [string]$Log, [string]$ScLog)
$env:PORTREPORTER_INSTALL_NORUN = '1'
. $env:PR_INSTALL_PS1
function Test-IsAdministrator { $true }
function Invoke-NativeProcess { param($FilePath, $CommandLine) Add-Content -LiteralPath $ScLog -Value $CommandLine; @{ ExitCode = 0; Output = '' } }
function New-LogDirectory { param($Path) $false }
function Register-EventSource { param($Source) $false }
exit (Invoke-PortReporterSetup -ExePath $Exe -InstallDir $Inst -LogDir $Log -Confirm)
'@
            $env:PR_INSTALL_PS1 = $script:InstallPs1
        }
        AfterAll { Remove-Item Env:PR_INSTALL_PS1 }
        It 'answering N does nothing' {
            $scLog = Join-Path $L.Root 'sc.txt'
            $r = Invoke-Script -File $script:Harness -ArgList @($L.Exe, $L.InstallDir, $L.LogDir, $scLog) -Stdin "n`n"
            $r.Code | Should -Be 0
            $r.Out | Should -BeLike '*Port Reporter setup*Do you want to continue?*'
            Test-Path -LiteralPath $scLog | Should -BeFalse
            Test-Path -LiteralPath $L.InstallDir | Should -BeFalse
        }
        It 'answering Y installs' {
            $scLog = Join-Path $L.Root 'sc.txt'
            $r = Invoke-Script -File $script:Harness -ArgList @($L.Exe, $L.InstallDir, $L.LogDir, $scLog) -Stdin "y`n"
            $r.Code | Should -Be 0
            (Get-Content -LiteralPath $scLog)[0] | Should -BeExactly (Get-ExpectedCreate $L)
            ([regex]::Matches($r.Out, '\[Y\] Yes')).Count | Should -Be 1 -Because 'one confirmation for the whole plan'
            Test-Path -LiteralPath (Join-Path $L.InstallDir 'portreporter.exe') | Should -BeTrue
        }
    }
}

Describe 'Windows PowerShell 5.1 compatibility (static checks)' {
    BeforeAll {
        $tokens = $null; $parseErrors = $null
        $script:Ast = [System.Management.Automation.Language.Parser]::ParseFile($script:InstallPs1, [ref]$tokens, [ref]$parseErrors)
        $script:ParseErrors = $parseErrors
        $script:Tokens = $tokens
    }
    It 'parses without errors' { $script:ParseErrors | Should -BeNullOrEmpty }
    It 'is pure ASCII (5.1 reads a BOM-less file as the ANSI code page)' {
        $bytes = [System.IO.File]::ReadAllBytes($script:InstallPs1)
        @($bytes | Where-Object { $_ -gt 127 }).Count | Should -Be 0
    }
    It 'uses no PowerShell 6+ syntax (ternary, ??, ?., &&, ||)' {
        $bad = $script:Ast.FindAll({
                param($n)
                $n -is [System.Management.Automation.Language.TernaryExpressionAst] -or
                $n -is [System.Management.Automation.Language.PipelineChainAst] -or
                ($n -is [System.Management.Automation.Language.BinaryExpressionAst] -and $n.Operator -eq 'QuestionQuestion') -or
                ($n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Operator -eq 'QuestionQuestionEquals') -or
                ($n -is [System.Management.Automation.Language.MemberExpressionAst] -and $n.NullConditional)
            }, $true)
        @($bad).Count | Should -Be 0
    }
    It 'uses no automatic variable that 5.1 lacks ($IsWindows, $IsLinux, ...)' {
        $vars = $script:Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.VariableExpressionAst] }, $true) |
            ForEach-Object { $_.VariablePath.UserPath }
        foreach ($v in 'IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR', 'PSStyle') { $vars | Should -Not -Contain $v }
    }
    It 'calls only cmdlets and parameters that exist in Windows PowerShell 5.1' {
        # Checked by hand against the 5.1 documentation.
        $allowed = @{
            'Copy-Item' = 'LiteralPath', 'Destination', 'Force', 'ErrorAction'
            'Test-Path' = 'LiteralPath', 'PathType'
            'New-Item' = 'ItemType', 'Path', 'Force', 'ErrorAction'
            'New-ItemProperty' = 'LiteralPath', 'Name', 'PropertyType', 'Value', 'Force', 'ErrorAction'
            'Remove-Item' = 'LiteralPath', 'Recurse', 'Force', 'ErrorAction'
            'Set-Acl' = 'LiteralPath', 'AclObject', 'ErrorAction'
            'Get-Service' = 'Name', 'ErrorAction'
            'Start-Sleep' = 'Milliseconds'
            'Join-Path' = @(); 'Split-Path' = 'Leaf'; 'Get-Location' = @(); 'New-Object' = @()
            'ForEach-Object' = @(); 'Where-Object' = @(); 'Set-StrictMode' = 'Version'
            'Write-Verbose' = @(); 'Write-Warning' = @(); 'Write-Host' = @()
            'Sort-Object' = @(); 'Get-Date' = @(); 'Get-Acl' = 'LiteralPath', 'ErrorAction'
            'Get-ItemProperty' = 'LiteralPath', 'Name', 'ErrorAction'
            'Get-CimInstance' = 'ClassName', 'Filter', 'ErrorAction'
            'Get-WinEvent' = 'FilterHashtable', 'MaxEvents', 'ErrorAction'
            'Get-Process' = 'Id', 'ErrorAction'
            'Move-Item' = 'LiteralPath', 'Destination', 'Force', 'ErrorAction'
        }
        $own = $script:Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true) | ForEach-Object Name
        $cmds = $script:Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true)
        foreach ($c in $cmds) {
            $name = $c.GetCommandName()
            if ($own -contains $name) { continue }
            $allowed.Keys | Should -Contain $name -Because "$name is used at line $($c.Extent.StartLineNumber)"
            $params = $c.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] } | ForEach-Object ParameterName
            foreach ($p in $params) { @($allowed[$name]) | Should -Contain $p -Because "$name -$p at line $($c.Extent.StartLineNumber)" }
        }
    }
}
