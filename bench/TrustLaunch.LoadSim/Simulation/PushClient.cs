using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// Push mode for one simulated agent: ask the verifier's agent port for a challenge, quote for it, post the evidence,
/// sleep until <c>next_attestation_at</c>, repeat; <c>retry</c> asks again at once (the verifier wants the full log).
/// The TLS client certificate is the one the agent registered, as the verifier requires.
/// </summary>
public sealed class PushClient : IDisposable
{
    private static readonly TimeSpan FaultDelay = TimeSpan.FromSeconds(2);

    private readonly SimulatedAgent _agent;
    private readonly HttpClient _http;
    private long _affirmed;
    private long _refused;
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
    }

    public long Affirmed => Interlocked.Read(ref _affirmed);
    public long Refused => Interlocked.Read(ref _refused);
    public long Faults => Interlocked.Read(ref _faults);

    /// <summary>Attests until cancelled, starting after <paramref name="firstDelay"/> (to spread a fleet's first round).</summary>
    public async Task RunAsync(TimeSpan firstDelay, CancellationToken cancellationToken)
    {
        await Task.Delay(firstDelay, cancellationToken).ConfigureAwait(false);
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                var result = await AttestOnceAsync(cancellationToken).ConfigureAwait(false);
                if (result.Status == PushAttestationResult.Retry)
                    continue;
                if (result.Status == PushAttestationResult.Affirming)
                    Interlocked.Increment(ref _affirmed);
                else
                    Interlocked.Increment(ref _refused);
                wait = result.NextAttestationAt - DateTimeOffset.UtcNow;
            }
            catch (Exception e) when (e is HttpRequestException or ServiceProblemException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _faults);
                wait = FaultDelay;
            }
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One challenge and its evidence.</summary>
    public async Task<PushAttestationResult> AttestOnceAsync(CancellationToken cancellationToken)
    {
        var path = $"v1/agents/{Uri.EscapeDataString(_agent.AgentId)}/attestations";
        AttestationChallenge challenge;
        using (var response = await _http.PostAsync(path, content: null, cancellationToken).ConfigureAwait(false))
        {
            await ServiceProblemException.EnsureSuccessAsync(response, "push challenge", cancellationToken).ConfigureAwait(false);
            challenge = await response.Content.ReadFromJsonAsync(PushJsonContext.Default.AttestationChallenge, cancellationToken).ConfigureAwait(false)
                ?? throw new ServiceProblemException("push challenge", response.StatusCode, "empty body", null);
        }
        var evidence = _agent.Quote(new QuoteQuery(challenge.Nonce, challenge.Pcrs, challenge.Since));
        using var posted = await _http.PostAsJsonAsync($"{path}/{challenge.ChallengeId}", evidence, ContractsJsonContext.Default.QuoteEvidence, cancellationToken)
            .ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(posted, "push evidence", cancellationToken).ConfigureAwait(false);
        return await posted.Content.ReadFromJsonAsync(PushJsonContext.Default.PushAttestationResult, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceProblemException("push evidence", posted.StatusCode, "empty body", null);
    }

    public void Dispose() => _http.Dispose();
}
