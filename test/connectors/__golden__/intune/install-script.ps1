# Managed by cavra: the next publication of this export replaces this script; edits here are lost.
# Runs the export's install command, then fails unless the installed binary has an approved SHA-256.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$PublicationId = 'emp_74da7cf6629e'
$Release = 'acme/cavra-runtime v0.2.0'
$InstallCommand = 'powershell.exe -ExecutionPolicy Bypass -File install-cavra-runtime.ps1'
$DetectionPath = '%ProgramFiles%\CAVRA\cavra-runtime.exe'
$ExpectedSha256 = @(
  '7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b'
)

Write-Output ('cavra {0}: installing {1}' -f $PublicationId, $Release)
# cmd.exe /s /c runs the command line exactly as exported (quotes kept, %VARIABLES% expanded),
# as an Intune Win32 install command would; .NET passes Arguments through unparsed.
$install = New-Object System.Diagnostics.ProcessStartInfo
$install.FileName = $env:ComSpec
$install.Arguments = '/d /s /c "' + $InstallCommand + '"'
$install.UseShellExecute = $false
$process = [System.Diagnostics.Process]::Start($install)
$process.WaitForExit()
if ($process.ExitCode -ne 0) {
  [Console]::Error.WriteLine(('cavra {0}: the install command exited with {1}' -f $PublicationId, $process.ExitCode))
  exit $process.ExitCode
}

$path = [System.Environment]::ExpandEnvironmentVariables($DetectionPath)
if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
  [Console]::Error.WriteLine(('cavra {0}: {1} is missing after the install' -f $PublicationId, $path))
  exit 2
}
$actual = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
$expected = @($ExpectedSha256 | ForEach-Object { $_.ToLowerInvariant() })
if ($expected -notcontains $actual) {
  [Console]::Error.WriteLine(('cavra {0}: {1} has SHA-256 {2}, which the export does not approve' -f $PublicationId, $path, $actual))
  exit 3
}
Write-Output ('cavra {0}: {1} verified (sha256 {2})' -f $PublicationId, $path, $actual)
exit 0
