using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Runtime;

/// <summary>
/// Drives an OCI runtime binary (crun by default, runc by option) with its state under <see cref="StateRoot"/>.
/// Container stdio goes to a log file given at create time — never a pipe read to the end, which hangs on a detached
/// container that keeps the pipe open. The runtime's own errors go to a per-call log (<c>--log</c>) so they are not
/// mixed with container output, and come back as the <see cref="RuntimeException"/> message.
/// </summary>
public sealed partial class OciRuntime
{
    /// <summary>
    /// crun 1.8 refuses to start on a hybrid cgroup host (v1 controllers plus a v2 hierarchy at
    /// /sys/fs/cgroup/unified): "cgroups in hybrid mode not supported". Running it in a private mount namespace
    /// where the v2 mount is detached makes it use the v1 controllers, which is what runc does on such hosts by itself
    /// (runc needs no workaround). Only <c>create</c> refuses (it is what makes the cgroups); start, state, kill and
    /// delete find the container's cgroups from its state and run as they are, sparing each call a namespace and two
    /// more processes.
    /// </summary>
    private const string HybridCgroupV2 = "/sys/fs/cgroup/unified";

    private readonly bool _detachUnifiedCgroup;

    public OciRuntime(string binary, string stateRoot)
    {
        Binary = binary;
        StateRoot = PrivateDirectory.Ensure(stateRoot);
        _detachUnifiedCgroup = Path.GetFileName(binary) == "crun" && IsHybridCgroupHost();
    }

    /// <summary>The runtime executable (name on PATH or absolute path).</summary>
    public string Binary { get; }

    /// <summary>The runtime's <c>--root</c>: where it keeps container state.</summary>
    public string StateRoot { get; }

    /// <summary>Creates container <paramref name="id"/> from a bundle; its stdout and stderr are appended to <paramref name="logPath"/>.</summary>
    /// <returns>The pid of the container's init process (not yet running the entry point until <see cref="StartAsync"/>).</returns>
    public async Task<int> CreateAsync(string id, string bundle, string logPath, CancellationToken cancellationToken = default)
    {
        ValidateId(id);
        var pidFile = Path.Combine(StateRoot, $"{id}.pid");
        File.Delete(pidFile);
        await RunAsync(["create", "--bundle", Path.GetFullPath(bundle), "--pid-file", pidFile, id], Path.GetFullPath(logPath), cancellationToken, _detachUnifiedCgroup).ConfigureAwait(false);
        var text = await File.ReadAllTextAsync(pidFile, cancellationToken).ConfigureAwait(false);
        File.Delete(pidFile);
        return int.TryParse(text.Trim(), out var pid) && pid > 0
            ? pid
            : throw new RuntimeException($"{Binary} create '{id}' wrote no pid");
    }

    public Task StartAsync(string id, CancellationToken cancellationToken = default) =>
        RunAsync(["start", ValidateId(id)], null, cancellationToken);

    public Task KillAsync(string id, string signal, CancellationToken cancellationToken = default) =>
        RunAsync(["kill", ValidateId(id), signal], null, cancellationToken);

    public Task DeleteAsync(string id, bool force, CancellationToken cancellationToken = default) =>
        RunAsync(force ? ["delete", "--force", ValidateId(id)] : ["delete", ValidateId(id)], null, cancellationToken);

    /// <summary>The container's state, or null when the runtime does not know it.</summary>
    public async Task<ContainerState?> StateAsync(string id, CancellationToken cancellationToken = default)
    {
        ValidateId(id);
        if (!Directory.Exists(Path.Combine(StateRoot, id)))
        {
            return null;
        }
        var output = await RunAsync(["state", id], null, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(output, RuntimeJsonContext.Default.ContainerState)
            ?? throw new RuntimeException($"{Binary} state '{id}' printed no state");
    }

    /// <summary>Container ids: letters, digits, '_', '-', '.', not starting with '.' or '-' (they name directories).</summary>
    public static string ValidateId(string id)
    {
        if (id.Length is 0 or > 128 || id[0] is '.' or '-' || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            throw new ArgumentException($"invalid container name '{id}': use 1-128 letters, digits, '_', '-' or '.', not starting with '.' or '-'");
        }
        return id;
    }

    private async Task<string> RunAsync(IReadOnlyList<string> args, string? stdioLog, CancellationToken cancellationToken, bool detachUnifiedCgroup = false)
    {
        var errorLog = Path.Combine(StateRoot, $".{Environment.ProcessId}.{Guid.NewGuid():N}.log");
        List<string> argv = Path.GetFileName(Binary) == "runc"
            ? [Binary, "--root", StateRoot, "--log", errorLog, "--log-format", "json", .. args]
            : [Binary, "--root", StateRoot, $"--log=file:{errorLog}", "--log-format=json", .. args];

        var start = stdioLog is null && !detachUnifiedCgroup ? Direct(argv) : ThroughShell(argv, stdioLog, detachUnifiedCgroup);
        try
        {
            using var process = Process.Start(start) ?? throw new RuntimeException($"cannot start {Binary}");
            if (start.RedirectStandardInput)
                process.StandardInput.Close();
            var stdout = stdioLog is null ? process.StandardOutput.ReadToEndAsync(cancellationToken) : Task.FromResult("");
            var stderr = stdioLog is null ? process.StandardError.ReadToEndAsync(cancellationToken) : Task.FromResult("");
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            var output = await stdout.ConfigureAwait(false);
            var errors = await stderr.ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                var failed = $"{Path.GetFileName(Binary)} {args[0]} failed: ";
                var error = RuntimeError(errorLog, errors, process.ExitCode);
                // runc's own messages already start with "runc create failed: "; crun's do not.
                throw new RuntimeException(error.StartsWith(failed, StringComparison.Ordinal) ? error : failed + error);
            }
            return output;
        }
        finally
        {
            File.Delete(errorLog);
        }
    }

    /// <summary>The runtime itself, stdin closed, stdout and stderr read by us: calls that leave no container holding them.</summary>
    private static ProcessStartInfo Direct(List<string> argv)
    {
        var start = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in argv.Skip(1))
            start.ArgumentList.Add(arg);
        return start;
    }

    /// <summary>Through /bin/sh, which only redirects (container stdio into <paramref name="stdioLog"/>) and execs — in a mount namespace without the v2 cgroup hierarchy when asked.</summary>
    private static ProcessStartInfo ThroughShell(List<string> argv, string? stdioLog, bool detachUnifiedCgroup)
    {
        // No argument is ever interpreted by the shell ("$@" keeps them whole).
        var redirect = stdioLog is null ? "exec \"$@\" </dev/null" : "exec \"$@\" </dev/null >>\"$TRUSTLAUNCH_STDIO\" 2>&1";
        var script = detachUnifiedCgroup ? $"umount -l {HybridCgroupV2} && {redirect}" : redirect;
        var start = new ProcessStartInfo(detachUnifiedCgroup ? "unshare" : "/bin/sh")
        {
            RedirectStandardOutput = stdioLog is null,
            RedirectStandardError = stdioLog is null,
            UseShellExecute = false,
        };
        if (detachUnifiedCgroup)
        {
            start.ArgumentList.Add("--mount");
            start.ArgumentList.Add("--");
            start.ArgumentList.Add("/bin/sh");
        }
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("sh");
        foreach (var arg in argv)
            start.ArgumentList.Add(arg);
        if (stdioLog is not null)
            start.Environment["TRUSTLAUNCH_STDIO"] = stdioLog;
        return start;
    }

    /// <summary>The last error the runtime logged (crun and runc write JSON lines carrying <c>msg</c>), else its stderr.</summary>
    private static string RuntimeError(string errorLog, string stderr, int exitCode)
    {
        var logged = File.Exists(errorLog) ? LoggedMessage().Matches(File.ReadAllText(errorLog)) : null;
        if (logged is { Count: > 0 })
        {
            return JsonSerializer.Deserialize(logged[^1].Groups[1].Value, RuntimeJsonContext.Default.String) ?? "";
        }
        return stderr.Trim().Split('\n').LastOrDefault(l => l.Length > 0) ?? $"exit code {exitCode}";
    }

    [GeneratedRegex("\"msg\":(\"(?:[^\"\\\\]|\\\\.)*\")")]
    private static partial Regex LoggedMessage();

    private static bool IsHybridCgroupHost()
    {
        try
        {
            return File.ReadLines("/proc/self/mounts").Any(l => l.Split(' ') is [_, HybridCgroupV2, "cgroup2", ..]);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
