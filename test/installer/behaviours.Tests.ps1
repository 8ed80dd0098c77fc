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
