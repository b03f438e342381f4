using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// One simulated agent: a UUID, a software TPM (EK with certificate, AK), a launch log, the agent-role TLS certificate
/// it serves (and registers), and the loopback address it is reached at. It registers through the registrar's agent
/// port exactly as the real agent's RegistrationService does and answers quotes like <c>GET /v1/quote</c>.
/// </summary>
public sealed class SimulatedAgent : IDisposable
{
    private int _quotes;

    public SimulatedAgent(string agentId, SoftwareTpm tpm, byte[] ekCertificate, X509Certificate2 tlsCertificate, IPEndPoint address,
        int launchPcr, int eventEvery)
    {
        AgentId = agentId;
        Tpm = tpm;
        EkCertificate = ekCertificate;
        TlsCertificate = tlsCertificate;
        Address = address;
        EventEvery = eventEvery;
        Log = new SimulatedLaunchLog(launchPcr);
        ServerCertificate = SslStreamCertificateContext.Create(tlsCertificate, additionalCertificates: null, offline: true);
    }

    public string AgentId { get; }
    public SoftwareTpm Tpm { get; }
    public byte[] EkCertificate { get; }
    public X509Certificate2 TlsCertificate { get; }
    public SslStreamCertificateContext ServerCertificate { get; }
    public IPEndPoint Address { get; }
    public SimulatedLaunchLog Log { get; }

    /// <summary>A launch event is appended before every <c>EventEvery</c>-th quote (0: never).</summary>
    public int EventEvery { get; }

    /// <summary>When set, quotes carry records whose content was edited after it was measured.</summary>
    public bool TamperLog { get; set; }

    public int QuotesServed => Volatile.Read(ref _quotes);

    /// <summary>Registration and activation: proof = <see cref="RegistrarClient.ComputeProof"/>.</summary>
    public async Task RegisterAsync(RegistrarClient registrar, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registrar);
        var tlsPem = TlsCertificate.ExportCertificatePem();
        var registration = new AgentRegistration(Tpm.EkPublic.ToTpm2bPublic(), EkCertificate, Tpm.AkPublic.ToTpm2bPublic(), tlsPem, Address.ToString());
        var challenge = await registrar.RegisterAsync(AgentId, registration, cancellationToken).ConfigureAwait(false);
        var credential = Tpm.ActivateCredential(challenge.CredentialBlob, challenge.EncryptedSecret);
        byte[] proof;
        try
        {
            proof = RegistrarClient.ComputeProof(credential, AgentId, tlsPem);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(credential);
        }
        await registrar.ActivateAsync(AgentId, new ActivationProof(proof), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The evidence for one quote request, advancing the launch log every <see cref="EventEvery"/> quotes.</summary>
    public QuoteEvidence Quote(QuoteQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var n = Interlocked.Increment(ref _quotes);
        if (EventEvery > 0 && n % EventEvery == 0)
            Log.Advance();
        var evidence = Log.Quote(Tpm, AgentId, query.Nonce, query.Pcrs, query.Since);
        return TamperLog && evidence.Events.Count > 0
            ? evidence with { Events = [evidence.Events[0] with { Content = evidence.Events[0].Content.Replace("loadsim", "tampered", StringComparison.Ordinal) }, .. evidence.Events.Skip(1)] }
            : evidence;
    }

    public void Dispose()
    {
        Tpm.Dispose();
        TlsCertificate.Dispose();
    }
}
