using System.Diagnostics;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Transport;
using Xunit;

namespace TrustLaunch.Testing;

/// <summary>
/// A private swtpm for one test class: its own state directory made by <c>swtpm_setup --createek --create-ek-cert</c>
/// (RSA and ECC EKs persisted, EK certificates in NV), its own loopback ports, stopped and deleted afterwards. On
/// another host (<see cref="CommandPrefix"/>) it listens on that host's <see cref="ListenAddress"/>, which the test
/// process reaches.
/// </summary>
public sealed class SwtpmFixture : IAsyncLifetime
{
    private Process? _process;

    public string StateDirectory { get; } = Directory.CreateTempSubdirectory("trustlaunch-swtpm-").FullName;
    public int Port { get; private set; }
    public int ControlPort => Port + 1;

    /// <summary>What swtpm runs under, e.g. <see cref="NetworkHost.CommandPrefix"/>; none by default.</summary>
    public IReadOnlyList<string> CommandPrefix { get; init; } = [];

    /// <summary>The address swtpm listens on (127.0.0.1 unless on another host).</summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>The TCTI string both TrustLaunch and tpm2-tools take.</summary>
    public string Tcti => $"swtpm:host={ListenAddress},port={Port}";

    /// <summary>swtpm_setup persists its RSA EK here.</summary>
    public const uint PersistentRsaEk = 0x8101_0001;

    public async Task InitializeAsync()
    {
        (await ProcessRunner.RunAsync("swtpm_setup",
        [
            "--tpm2", "--tpmstate", StateDirectory, "--createek", "--create-ek-cert", "--create-platform-cert",
            "--pcr-banks", "sha1,sha256", "--overwrite",
        ])).EnsureSuccess("swtpm_setup");
        for (var attempt = 0; ; attempt++)
        {
            Port = FreePorts.FindPair();
            if (await TryStartAsync() || attempt == 5)
                break;
        }
        if (_process is null)
            throw new InvalidOperationException("swtpm did not start; see " + Path.Combine(StateDirectory, "swtpm.log"));
    }

    public TpmDevice OpenDevice() => TpmDevice.Open(Tcti);

    public SwtpmControl Control => new(ListenAddress, ControlPort);

    /// <summary>Runs a tpm2-tools command against this TPM and fails the test with its stderr if it fails.</summary>
    public async Task<ProcessResult> Tpm2Async(string tool, params string[] arguments) =>
        (await Tpm2RawAsync(tool, arguments)).EnsureSuccess(tool);

    /// <summary>Runs a tpm2-tools command and returns whatever it did.</summary>
    public Task<ProcessResult> Tpm2RawAsync(string tool, params string[] arguments) =>
        ProcessRunner.RunAsync(tool, arguments, new Dictionary<string, string> { ["TPM2TOOLS_TCTI"] = Tcti });

    /// <summary>Kills swtpm (as a crash would) and leaves the state on disk.</summary>
    public async Task KillAsync()
    {
        await LoopbackServer.KillAsync(_process);
        _process = null;
    }

    /// <summary>Starts swtpm again on the same state and ports.</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        for (var attempt = 0; attempt < 20 && !await TryStartAsync(); attempt++)
            await Task.Delay(100);
        if (_process is null)
            throw new InvalidOperationException($"swtpm did not restart on port {Port}");
    }

    private async Task<bool> TryStartAsync()
    {
        string[] command = [.. CommandPrefix, "swtpm"];
        var info = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] arguments =
        [
            .. command.Skip(1), "socket", "--tpm2", "--tpmstate", $"dir={StateDirectory}",
            "--server", $"type=tcp,port={Port},bindaddr={ListenAddress}",
            "--ctrl", $"type=tcp,port={ControlPort},bindaddr={ListenAddress}",
            "--flags", "not-need-init,startup-clear",
            "--log", $"file={Path.Combine(StateDirectory, "swtpm.log")},level=1",
        ];
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        _process = await LoopbackServer.StartAsync(info, Port, host: ListenAddress);
        return _process is not null;
    }

    public async Task DisposeAsync()
    {
        await KillAsync();
        Directory.Delete(StateDirectory, recursive: true);
    }
}
