using System.Diagnostics;

namespace TrustLaunch.Testing;

/// <summary>
/// <c>trustlaunch serve ROLE …</c> as a real child process: started with the CLI the tests built (<c>dotnet
/// trustlaunch.dll</c>, or the executable named by <c>TRUSTLAUNCH_CLI</c>, e.g. the Native AOT one), ready once
/// <c>readyUrl</c> answers 200, output appended to <see cref="LogFile"/>; stopped with SIGTERM, or killed with
/// SIGKILL as a crash would, and restarted with the same arguments (so the same data dir). A command prefix that execs
/// its command (e.g. <see cref="NetworkHost.CommandPrefix"/>, <c>ip netns exec NAME</c>) runs it on another host.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    public const string CliVariable = "TRUSTLAUNCH_CLI";
    private static readonly TimeSpan DefaultReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly Uri _readyUrl;
    private readonly HttpClient _probe;
    private readonly Lock _logLock = new();
    private Process? _process;
    private StreamWriter? _log;

    private readonly string? _executable;
    private readonly IReadOnlyList<string> _commandPrefix;

    private ServiceProcess(string role, IReadOnlyList<string> arguments, Uri readyUrl, HttpClient probe, string logFile, string? executable,
        IReadOnlyList<string> commandPrefix)
    {
        _executable = executable;
        _commandPrefix = commandPrefix;
        Role = role;
        Arguments = arguments;
        _readyUrl = readyUrl;
        _probe = probe;
        LogFile = logFile;
    }

    public string Role { get; }
    public IReadOnlyList<string> Arguments { get; }
    public string LogFile { get; }
    public int? ProcessId => _process?.Id;

    /// <summary>Starts <c>trustlaunch serve ROLE ARGUMENTS</c> and waits until <paramref name="readyUrl"/> (fetched with
    /// <paramref name="probe"/>, which must trust the service's certificate) answers 200. <paramref name="executable"/>
    /// runs instead of the CLI <see cref="CliCommand"/> finds (e.g. a Native AOT <c>trustlaunch</c>); <paramref name="commandPrefix"/>
    /// (a command that execs the rest, so the pid stays the service's) goes before it.</summary>
    public static async Task<ServiceProcess> StartAsync(string role, IEnumerable<string> arguments, Uri readyUrl, HttpClient probe, string logFile,
        string? executable = null, IReadOnlyList<string>? commandPrefix = null)
    {
        var service = new ServiceProcess(role, [.. arguments], readyUrl, probe, logFile, executable, commandPrefix ?? []);
        await service.StartAsync();
        return service;
    }

    /// <summary>Starts the process again with the same arguments (after <see cref="StopAsync"/> or <see cref="KillAsync"/>).</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        if (_process is not null)
            throw new InvalidOperationException($"{Role} is already running (pid {_process.Id})");
        var (cli, cliPrefix) = _executable is null ? CliCommand() : (_executable, []);
        string[] command = [.. _commandPrefix, cli, .. cliPrefix];
        var fileName = command[0];
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in command.Skip(1).Concat(["serve", Role]).Concat(Arguments))
            info.ArgumentList.Add(argument);
        _log ??= new StreamWriter(new FileStream(LogFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        WriteLog($"--- start: trustlaunch serve {Role} {string.Join(' ', Arguments)}");
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.OutputDataReceived += (_, e) => WriteLog(e.Data);
        process.ErrorDataReceived += (_, e) => WriteLog(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitReadyAsync(timeout ?? DefaultReadyTimeout);
    }

    /// <summary>SIGTERM and wait for a graceful exit (SIGKILL after <paramref name="grace"/>); returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? grace = null)
    {
        var process = _process ?? throw new InvalidOperationException($"{Role} is not running");
        if (!process.HasExited)
            (await ProcessRunner.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])).EnsureSuccess("kill -TERM");
        using var cts = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        return Forget(process);
    }

    /// <summary>SIGKILL, as a crash would; the data dir stays as the process left it.</summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException($"{Role} is not running");
        if (!process.HasExited)
            process.Kill();
        await process.WaitForExitAsync();
        Forget(process);
    }

    public async Task RestartAfterKillAsync()
    {
        await KillAsync();
        await StartAsync();
    }

    public string ReadLog()
    {
        lock (_logLock)
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(stream).ReadToEnd();
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                var code = Forget(_process);
                throw new InvalidOperationException($"trustlaunch serve {Role} exited with {code} before it was ready; log {LogFile}:\n{ReadLog()}");
            }
            try
            {
                using var response = await _probe.GetAsync(_readyUrl);
                if (response.IsSuccessStatusCode)
                    return;
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            await Task.Delay(50);
        }
        await KillAsync();
        throw new TimeoutException($"trustlaunch serve {Role} was not ready at {_readyUrl} within {timeout} ({last}); log {LogFile}:\n{ReadLog()}");
    }

    private int Forget(Process process)
    {
        var code = process.ExitCode;
        // Drain the redirected output before the next start appends to the log.
        process.WaitForExit();
        process.Dispose();
        _process = null;
        WriteLog($"--- exited with {code}");
        return code;
    }

    private void WriteLog(string? line)
    {
        if (line is null)
            return;
        lock (_logLock)
            _log?.WriteLine(line);
    }

    /// <summary>The executable and leading arguments that run the CLI: <c>TRUSTLAUNCH_CLI</c> (an executable, or a .dll
    /// run with dotnet), else the trustlaunch.dll built next to the tests' configuration in src/TrustLaunch.Cli/bin.</summary>
    public static (string FileName, string[] Prefix) CliCommand()
    {
        var configured = Environment.GetEnvironmentVariable(CliVariable);
        if (!string.IsNullOrEmpty(configured))
            return configured.EndsWith(".dll", StringComparison.Ordinal) ? ("dotnet", [configured]) : (configured, []);
        var root = RepositoryRoot.Path;
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(root, "src", "TrustLaunch.Cli", "bin", configuration, "net10.0", "trustlaunch.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} not found: build src/TrustLaunch.Cli ({configuration}) or set {CliVariable}", dll);
        return ("dotnet", [dll]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
            await KillAsync();
        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
    }
}
