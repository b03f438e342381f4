using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// Push mode for one simulated agent, as the real agent's PushAttestationService: ask the verifier's agent port for a
/// challenge, quote for it, post the evidence, sleep until <c>next_attestation_at</c>, repeat; <c>retry</c> asks again
/// at once (the verifier wants the full log). The TLS client certificate is the one the agent registered.
/// </summary>
public sealed class PushClient : IDisposable
{
    private static readonly TimeSpan FaultDelay = TimeSpan.FromSeconds(2);

    private readonly SimulatedAgent _agent;
    private readonly HttpClient _http;
    private readonly PushAttestationClient _verifier;
    private long _affirmed;
    private long _contraindicated;
    private long _faults;

    public PushClient(SimulatedAgent agent, Uri verifierAgentPort, CaBundle trust)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(trust);
        _agent = agent;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [agent.TlsCertificate],
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && certificate is X509Certificate2 server
                    && trust.Validate(server, CaBundle.ServerAuthOid, chain?.ChainPolicy.ExtraStore) is null,
            },
        };
        _http = new HttpClient(handler, disposeHandler: true) { BaseAddress = verifierAgentPort, Timeout = TimeSpan.FromSeconds(30) };
        _verifier = new PushAttestationClient(_http);
    }

    public long Affirmed => Interlocked.Read(ref _affirmed);
    public long Contraindicated => Interlocked.Read(ref _contraindicated);
    public long Faults => Interlocked.Read(ref _faults);

    /// <summary>
    /// Attests until <paramref name="cancellationToken"/> is cancelled, then returns; starts after
    /// <paramref name="firstDelay"/> (to spread a fleet's first round).
    /// </summary>
    public async Task RunAsync(TimeSpan firstDelay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(firstDelay, cancellationToken).ConfigureAwait(false);
            while (true)
                await Task.Delay(await AttestAndWaitAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    /// <summary>One attestation; returns how long to wait before the next.</summary>
    private async Task<TimeSpan> AttestAndWaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await AttestOnceAsync(cancellationToken).ConfigureAwait(false);
            if (result.Status == PushAttestationResult.Retry)
                return TimeSpan.Zero;
            Interlocked.Increment(ref result.Status == PushAttestationResult.Affirming ? ref _affirmed : ref _contraindicated);
            var wait = result.NextAttestationAt - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        catch (Exception e) when (e is HttpRequestException or ServiceProblemException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _faults);
            return FaultDelay;
        }
    }

    /// <summary>One challenge and its evidence.</summary>
    public async Task<PushAttestationResult> AttestOnceAsync(CancellationToken cancellationToken)
    {
        var challenge = await _verifier.RequestChallengeAsync(_agent.AgentId, cancellationToken).ConfigureAwait(false);
        var evidence = _agent.Quote(new QuoteQuery(challenge.Nonce, challenge.Pcrs, challenge.Since));
        return await _verifier.PostEvidenceAsync(_agent.AgentId, challenge.ChallengeId, evidence, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();
}
