using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>How many agents to simulate and where their keys, certificates and addresses come from.</summary>
/// <param name="PkiDirectory">The deployment CA's TLS directory (<c>trustlaunch ca init --dir</c>): ca.crt and crl.pem.</param>
/// <param name="CaKeyDirectory">The deployment CA's key directory (<c>--key-dir</c>): agent TLS certificates are issued from it.</param>
/// <param name="WorkDirectory">Where the EK CA, cached EK keys and issued agent certificates are kept.</param>
/// <param name="Port">The port every agent listens on, each on its own loopback address.</param>
/// <param name="FirstAddress">Agent i is reached at <paramref name="FirstAddress"/> + i (all of 127/8 is local on Linux).</param>
/// <param name="EventEvery">A launch event is appended every this many quotes of an agent (0: never).</param>
public sealed record FleetOptions(
    int Agents,
    string PkiDirectory,
    string CaKeyDirectory,
    string WorkDirectory,
    int Port,
    IPAddress FirstAddress,
    int LaunchPcr = 13,
    int EventEvery = 10)
{
    public static readonly IPAddress DefaultFirstAddress = IPAddress.Parse("127.1.0.1");
}

/// <summary>N simulated agents: created (keys, EK certificates, TLS certificates), registered, added to a verifier.</summary>
public sealed class SimulatedFleet : IDisposable
{
    private readonly Dictionary<uint, SimulatedAgent> _byAddress;

    private SimulatedFleet(FleetOptions options, IReadOnlyList<SimulatedAgent> agents)
    {
        Options = options;
        Agents = agents;
        _byAddress = agents.ToDictionary(a => Key(a.Address.Address));
    }

    public FleetOptions Options { get; }
    public IReadOnlyList<SimulatedAgent> Agents { get; }

    /// <summary>The agent reached at <paramref name="localAddress"/>, or null.</summary>
    public SimulatedAgent? At(IPAddress? localAddress) =>
        localAddress is not null && _byAddress.TryGetValue(Key(localAddress.IsIPv4MappedToIPv6 ? localAddress.MapToIPv4() : localAddress), out var agent) ? agent : null;

    /// <summary>Creates the agents (in parallel: RSA EK generation dominates the first run).</summary>
    public static SimulatedFleet Create(FleetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var ek = EkAuthority.OpenOrCreate(Path.Combine(options.WorkDirectory, "ek-ca"));
        using var ca = CertificateAuthority.Open(options.PkiDirectory, options.CaKeyDirectory);
        var certificates = Path.Combine(options.WorkDirectory, "agents");
        var first = Key(options.FirstAddress);
        var agents = new SimulatedAgent[options.Agents];
        Parallel.For(0, options.Agents, i =>
        {
            var id = Guid.NewGuid().ToString();
            var tpm = new SoftwareTpm(ek.EkKey(i));
            var ekCertificate = ek.IssueEkCertificate(tpm.Ek, id);
            IssuedCertificate issued;
            lock (ca)
                issued = ca.Issue(ServiceRoles.Agent, string.Create(CultureInfo.InvariantCulture, $"loadsim-{i}"), outputDirectory: certificates);
            var tls = X509Certificate2.CreateFromPemFile(issued.CertificatePath, issued.KeyPath);
            var address = new IPEndPoint(Address(first + (uint)i), options.Port);
            agents[i] = new SimulatedAgent(id, tpm, ekCertificate, tls, address, options.LaunchPcr, options.EventEvery);
        });
        return new SimulatedFleet(options, agents);
    }

    /// <summary>Registers and activates every agent at the registrar's agent port.</summary>
    public Task RegisterAsync(RegistrarClient registrar, int parallelism, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(Agents, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            (agent, ct) => new ValueTask(agent.RegisterAsync(registrar, ct)));

    /// <summary>
    /// Puts every agent under attestation with <paramref name="policy"/>, in <paramref name="mode"/>
    /// (<see cref="AttestationModes"/>; pull agents are reached at the address they registered).
    /// </summary>
    public Task AddToVerifierAsync(VerifierClient tenant, string policy, string mode, int parallelism, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(Agents, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (agent, ct) => await tenant.AddAgentAsync(new AddAgentRequest(agent.AgentId, policy, null, mode), ct).ConfigureAwait(false));

    /// <summary>The policy the simulated logs satisfy: the one image digest (its golden value's key trusted), any namespace, the launch PCR.</summary>
    public PolicyDocument Policy(string name) =>
        new(name, new Dictionary<string, string> { [SimulatedLaunchLog.PublisherKeyId] = SimulatedLaunchLog.PublisherPem }, [SimulatedLaunchLog.ImageDigest], [], [],
            Options.LaunchPcr, new Dictionary<int, string>());

    private static uint Key(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        if (bytes.Length != 4)
            throw new ArgumentException($"simulated agents use IPv4 loopback addresses, not {address}", nameof(address));
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    private static IPAddress Address(uint value)
    {
        var bytes = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    public void Dispose()
    {
        foreach (var agent in Agents)
            agent?.Dispose();
    }
}
