using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>A container the agent started: its files and its monitor's run, which ends with the exit status once ContainerStopped is measured.</summary>
public sealed record LaunchedContainer(ContainerDirectory Container, int Pid, Task<int> Exited);

/// <summary>
/// The agent as the node daemon that launches (<c>trustlaunch run/ps/stop/rm/logs</c> are its clients): it pulls,
/// judges, snapshots and measures in its own process through its <see cref="TrustLaunch.Agent.Attestation.LaunchLog"/>, creates and starts through
/// the OCI runtime, and supervises every container itself — the agent is the child subreaper and each container's
/// <see cref="ContainerMonitor"/> runs as a task of the agent, waiting on its own init's pid only, so there is no
/// monitor process. Snapshots are sealed (<see cref="SnapshotSeals"/>) for the agent's lifetime. The data
/// directories it launched into are remembered in the agent's own data directory, so that after a restart the
/// containers whose exit it did not see are recovered (<see cref="ContainerRecovery"/>) before anything new is measured.
/// With <paramref name="broker"/> (<c>serve agent --kbs</c>) layers wrapped for the <c>trustlaunch</c> key provider are
/// unwrapped through it. Sealed secrets are opened through <paramref name="secrets"/> (<c>--kbs</c> and
/// <c>--secret-trust</c>); their names, this agent's ability to open them and their signatures are checked before
/// anything is measured. With a <paramref name="gateway"/> (a <c>--kbs</c> agent) every container gets its workload
/// gateway, gone when it stops, and back
/// after an agent restart for those still running whose bundle and log agree (<see cref="GatewayRecovery"/>).
/// </summary>
public sealed class NodeLauncher(AgentRuntime agent, ServiceHttpClientFactory clients, ILogger<NodeLauncher> logger,
    NodeKeyBroker? broker = null, NodeSecrets? secrets = null, WorkloadGateway? gateway = null)
{
    public const string DefaultRuntime = "crun";

    /// <summary>Registry clients kept between launches (their connections and tokens), by what configures them; bounded.</summary>
    private const int MaxRegistryClients = 16;

    private readonly SnapshotSeals _seals = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, RegistryClient> _registryClients = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _dataDirsGate = new(1, 1);

    private IMeasurer Measurer => new LaunchLogMeasurer(agent.Log);

    public IMeasurer OpenMeasurer() => Measurer;

    private string DataDirsFile => Path.Combine(agent.Options.DataDirectory, "launcher-data-dirs");

    public ContainerControl Control(string dataDir) => new(dataDir, RuntimeFor(dataDir), () => Measurer);

    /// <summary>Opens the OCI runtime a record names (null: the default) over the runtime state of <paramref name="dataDir"/>.</summary>
    private static Func<string?, OciRuntime> RuntimeFor(string dataDir) =>
        binary => new OciRuntime(binary ?? DefaultRuntime, Path.Combine(dataDir, "runtime"));

    /// <summary>Pulls, judges and prepares the container, creates and starts it; returns once it runs (or throws why it does not).</summary>
    public async Task<LaunchedContainer> RunAsync(RunContainerRequest request, CancellationToken cancellationToken)
    {
        var launch = LaunchRequestOf(request);
        VerifySecrets(launch.Secrets);
        await RememberAsync(request.DataDir, cancellationToken).ConfigureAwait(false);
        using var keys = new DisposableList<DecryptionKey>(request.DecryptionKeys?.Select(DecryptionKey.FromFile));
        // One per launch: each key-encryption key is fetched once for the whole pull and wiped when the launch is prepared.
        using var keyEncryptionKeys = broker is null ? null : new BrokerKeyEncryptionKeys(broker);
        using var verifier = request.Mode == "remote" ? VerifierClient(request) : null;
        var judge = ImageJudges.Create(new ImageJudgeOptions(request.AgentId ?? agent.Options.AgentId)
        {
            Trust = request.Trust,
            TrustPolicy = request.TrustPolicy,
            Verifier = verifier,
            SignaturePolicy = request.SignaturePolicy,
            RegistriesD = request.RegistriesD,
        });
        var (client, owned) = RegistryClientOf(request, launch.Reference);
        using var disposeOwned = owned ? client : null;
        var measurer = Measurer;
        var store = new ContentStore(request.DataDir);

        // Containers whose exit went unseen get their ContainerStopped measured before anything new is.
        await Control(request.DataDir).RecoverAsync(cancellationToken).ConfigureAwait(false);
        var workloadGateway = gateway?.Claim(request.Name);
        Task<int> exited;
        ContainerDirectory container;
        var started = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            container = await new TrustedLauncher(request.DataDir, store, judge, measurer, _seals) { Unsealer = secrets is null ? null : secrets.UnsealAsync }
                .PrepareAsync(client, launch with { DecryptionKeys = keys, KeyEncryptionKeys = keyEncryptionKeys, WorkloadGatewayDirectory = workloadGateway?.Directory }, cancellationToken).ConfigureAwait(false);
            StartGateway(workloadGateway, container);
            var monitor = new ContainerMonitor(new OciRuntime(request.Runtime, Path.Combine(request.DataDir, "runtime")), measurer)
            {
                Created = launch.HostNetwork ? null : workloadGateway is null ? null : workloadGateway.ListenInNetworkNamespace,
            };
            // The monitor outlives the request: it reaps the container and measures its stop whenever that comes.
            exited = Task.Run(() => monitor.RunAsync(container, pid => started.TrySetResult(pid), CancellationToken.None), CancellationToken.None);
        }
        catch
        {
            if (workloadGateway is not null)
                await workloadGateway.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        if (workloadGateway is not null)
            _ = exited.ContinueWith(_ => workloadGateway.DisposeAsync().AsTask(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        _ = exited.ContinueWith(t => logger.LogWarning(t.Exception!.GetBaseException(), "Container {Name}: its monitor failed", request.Name),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        await Task.WhenAny(started.Task, exited).ConfigureAwait(false);
        // Not "which came first": a short-lived container may be done by the time either continuation runs.
        if (!started.Task.IsCompleted)
        {
            try
            {
                await exited.ConfigureAwait(false);
            }
            finally
            {
                ContainerControl.DiscardUnstarted(container);
            }
            throw new RuntimeException($"container '{request.Name}' exited before it was started");
        }
        return new LaunchedContainer(container, await started.Task.ConfigureAwait(false), exited);
    }

    /// <summary>The gateway answers as the container the record names (its image as judged); a gateway that cannot
    /// listen leaves the container unstarted.</summary>
    private static void StartGateway(ContainerGateway? workloadGateway, ContainerDirectory container)
    {
        if (workloadGateway is null)
            return;
        try
        {
            var record = container.ReadRecord() ?? throw new LauncherException($"container '{container.Name}' has no record");
            workloadGateway.Start(new WorkloadIdentity(record.Name, record.Image, record.ImageDigest));
        }
        catch
        {
            ContainerControl.DiscardUnstarted(container);
            throw;
        }
    }

    /// <summary>Measures the missing ContainerStopped of containers whose exit no agent saw (the agent restarted meanwhile);
    /// with a gateway, gives those still running theirs back (<see cref="GatewayRecovery"/>) before it starts.</summary>
    public async Task RecoverAllAsync(CancellationToken cancellationToken)
    {
        var gateways = gateway is null ? null : new GatewayRecovery(gateway, agent.Log.ReadFrom(0), logger);
        foreach (var dataDir in await KnownDataDirsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!Directory.Exists(dataDir))
                continue;
            try
            {
                await Control(dataDir).RecoverAsync(cancellationToken).ConfigureAwait(false);
                if (gateways is not null)
                    await gateways.AdoptAllAsync(dataDir, RuntimeFor(dataDir), () => Control(dataDir).RecoverAsync(CancellationToken.None), cancellationToken)
                        .ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Not a reason to keep the agent down: every later command of that data directory recovers again, first.
                logger.LogWarning("Recovering the containers of {DataDir} failed: {Message}", dataDir, e.Message);
            }
        }
    }

    private void VerifySecrets(IReadOnlyList<LaunchSecret> launchSecrets)
    {
        if (launchSecrets.Count == 0)
            return;
        if (secrets is null)
            throw new LauncherException($"--secret refused: {TrustLaunch.Agent.Kbs.NodeSecrets.NotConfiguredReason(broker is not null)}");
        foreach (var secret in launchSecrets)
        {
            try
            {
                secrets.Verify(secret.Name, secret.SealedText);
            }
            catch (TrustLaunch.Kbs.Secrets.SealedSecretException e)
            {
                throw new SecretRefusedException(secret.Name, e.Message, e);
            }
        }
    }

    private static LaunchRequest LaunchRequestOf(RunContainerRequest request)
    {
        if (!Path.IsPathFullyQualified(request.DataDir))
            throw new ArgumentException($"data_dir '{request.DataDir}' is not an absolute path");
        OciRuntime.ValidateId(request.Name);
        if (request.Mode is not ("local" or "remote"))
            throw new ArgumentException($"mode '{request.Mode}' is neither local nor remote");
        if (request.Network is not (TrustLaunch.Measurement.ContainerIsolation.NetworkPod or TrustLaunch.Measurement.ContainerIsolation.NetworkHost))
            throw new ArgumentException($"network '{request.Network}' is neither pod nor host");
        if (request.Seccomp is not (TrustLaunch.Measurement.ContainerIsolation.SeccompDefault or TrustLaunch.Measurement.ContainerIsolation.SeccompUnconfined))
            throw new ArgumentException($"seccomp '{request.Seccomp}' is neither default nor unconfined");
        if (request.PidsLimit <= 0)
            throw new ArgumentException("pids_limit must be a positive number of processes");
        if (request.Runtime.Length == 0)
            throw new ArgumentException("runtime is empty");
        var launchSecrets = (request.Secrets ?? []).Select(s => new LaunchSecret(s.Name, s.Sealed)).ToList();
        LaunchSecret.CheckNames(launchSecrets.Select(s => s.Name));
        if (!ImageReference.TryParse(request.Reference, out var reference, out var error))
            throw new ArgumentException(error);
        Platform? platform = null;
        if (request.Platform is not null && !Platform.TryParse(request.Platform, out platform))
            throw new ArgumentException($"platform '{request.Platform}' is not os/arch[/variant]");
        return new LaunchRequest(reference, request.Name, request.Mode == "remote" ? LaunchMode.Remote : LaunchMode.Local, request.Pod, request.Namespace,
            platform, request.Args)
        {
            Runtime = request.Runtime,
            HostNetwork = request.Network == TrustLaunch.Measurement.ContainerIsolation.NetworkHost,
            SeccompUnconfined = request.Seccomp == TrustLaunch.Measurement.ContainerIsolation.SeccompUnconfined,
            PidsLimit = request.PidsLimit,
            Secrets = launchSecrets,
        };
    }

    private HttpClient VerifierClient(RunContainerRequest request)
    {
        if (!Uri.TryCreate(request.Verifier, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"verifier '{request.Verifier}' is not an https:// URL");
        if (request.TlsDir is null)
            return clients.Create(uri, ServiceRoles.Verifier);
        return new ServiceHttpClientFactory(TlsIdentity.FromDirectory(request.TlsDir, request.TlsName ?? "agent")).Create(uri, ServiceRoles.Verifier);
    }

    /// <returns>The client, and whether the caller disposes it (it is not one of those kept).</returns>
    private (RegistryClient Client, bool Owned) RegistryClientOf(RunContainerRequest request, ImageReference reference)
    {
        if ((request.RegistryUsername is null) != (request.RegistryPassword is null))
            throw new ArgumentException("registry_username and registry_password go together");
        var credentials = new Dictionary<string, RegistryCredentials>(StringComparer.Ordinal);
        if (request.RegistryUsername is { } user)
            credentials[reference.Registry] = new RegistryCredentials(user, request.RegistryPassword!);
        var certs = request.CertsDir ?? CertsDirectory.DefaultPath;
        // The settings files are read only for a new client: a kept one was made from the same files, unchanged.
        RegistryClient Create() => new(RegistryClientOptions.FromSettingsFiles(request.AuthFile, request.RegistriesConf, certs) with
        {
            InsecureRegistries = request.InsecureRegistries ?? [],
            Credentials = credentials,
            SourceRefused = reason => logger.LogWarning("Registry source given up: {Reason}", reason),
        });
        // Keyed by a hash, so no password is kept as a key; the settings files' paths and change times are part of
        // it, so an edited auth file, registries.conf or certs.d makes a new client.
        var key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\0',
            [reference.Registry, request.RegistryUsername ?? "", request.RegistryPassword ?? "", .. (request.InsecureRegistries ?? []).Order(StringComparer.Ordinal),
             .. SettingsStamps([.. RegistryAuthFiles.SearchPath(request.AuthFile), request.RegistriesConf ?? RegistriesConf.DefaultPath,
                 (request.RegistriesConf ?? RegistriesConf.DefaultPath) + ".d", certs, .. CertsEntries(certs)])]))));
        if (_registryClients.TryGetValue(key, out var kept))
            return (kept, false);
        if (_registryClients.Count >= MaxRegistryClients)
            return (Create(), true);
        var created = Create();
        if (_registryClients.TryAdd(key, created))
            return (created, false);
        created.Dispose();
        return (_registryClients[key], false);
    }

    /// <summary>Every host directory and file of certs.d: a certificate added under <c>HOST/</c> changes that directory, not the root.</summary>
    private static IEnumerable<string> CertsEntries(string certs) =>
        Directory.Exists(certs) ? Directory.EnumerateFileSystemEntries(certs, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : [];

    /// <summary>Each path with the time it last changed (files and directories; absent ones say so).</summary>
    private static IEnumerable<string> SettingsStamps(IEnumerable<string> paths) =>
        paths.Select(p => $"{p}@{(Path.Exists(p) ? new FileInfo(p).LastWriteTimeUtc.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) : "absent")}");

    private async Task RememberAsync(string dataDir, CancellationToken cancellationToken)
    {
        await _dataDirsGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var known = File.Exists(DataDirsFile) ? await File.ReadAllLinesAsync(DataDirsFile, cancellationToken).ConfigureAwait(false) : [];
            if (!known.Contains(dataDir, StringComparer.Ordinal))
                await File.AppendAllLinesAsync(DataDirsFile, [dataDir], cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _dataDirsGate.Release();
        }
    }

    private async Task<IReadOnlyList<string>> KnownDataDirsAsync(CancellationToken cancellationToken) =>
        File.Exists(DataDirsFile) ? await File.ReadAllLinesAsync(DataDirsFile, cancellationToken).ConfigureAwait(false) : [];
}

/// <summary>Items disposed together (the decryption keys of one launch, the key provider recipients of one image).</summary>
public sealed class DisposableList<T>(IEnumerable<T>? items) : List<T>(items ?? []), IDisposable where T : IDisposable
{
    public void Dispose()
    {
        foreach (var item in this)
            item.Dispose();
    }
}
