using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Verifier.Polling;

/// <summary>What the verifier needs to talk to one agent: its AK (from the registrar) and a client pinned to the TLS
/// certificate the agent registered.</summary>
public sealed class AgentConnection(AsymmetricAlgorithm akPublicKey, X509Certificate2 tlsCertificate, AgentClient client, HttpClient http) : IDisposable
{
    private readonly X509Certificate2 _tlsCertificate = tlsCertificate;

    public AsymmetricAlgorithm AkPublicKey { get; } = akPublicKey;
    public AgentClient Client { get; } = client;

    /// <summary>Whether <paramref name="certificate"/> is the TLS certificate this agent registered.</summary>
    public bool IsRegisteredCertificate(X509Certificate2 certificate) => SameCertificate(_tlsCertificate, certificate);

    /// <summary>Byte-for-byte the same certificate, compared in constant time.</summary>
    public static bool SameCertificate(X509Certificate2 a, X509Certificate2 b) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(a.RawData), SHA256.HashData(b.RawData));

    public void Dispose()
    {
        http.Dispose();
        AkPublicKey.Dispose();
    }
}

/// <summary>The AK and TLS certificate a push-mode agent registered: all the verifier needs, as the agent calls it.</summary>
public sealed class RegisteredKeys(AsymmetricAlgorithm akPublicKey, X509Certificate2 tlsCertificate) : IDisposable
{
    public AsymmetricAlgorithm AkPublicKey { get; } = akPublicKey;

    public bool IsRegisteredCertificate(X509Certificate2 certificate) => AgentConnection.SameCertificate(tlsCertificate, certificate);

    public void Dispose()
    {
        AkPublicKey.Dispose();
        tlsCertificate.Dispose();
    }
}

/// <summary>
/// Looks agents up at the registrar's management API (mTLS, the verifier's certificate) and keeps one connection per
/// pull-mode agent and address, and the registered keys of push-mode agents. A registration that is missing or not
/// activated is refused with the reason.
/// </summary>
public sealed class AgentConnections(ServiceHttpClientFactory clients, VerifierOptions options) : IDisposable
{
    private readonly HttpClient _registrar = clients.Create(options.RegistrarUrl, ServiceRoles.Registrar);
    private readonly ConcurrentDictionary<string, (string Address, AgentConnection Connection)> _byAgent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RegisteredKeys> _keysByAgent = new(StringComparer.Ordinal);

    /// <summary>The agent's registration, or null when the registrar does not know it.</summary>
    public async Task<RegisteredAgent?> LookupAsync(string agentId, CancellationToken cancellationToken)
    {
        using var response = await _registrar.GetAsync($"v1/agents/{Uri.EscapeDataString(agentId)}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            return null;
        await ServiceProblemException.EnsureSuccessAsync(response, "registrar", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.RegisteredAgent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether <paramref name="certificate"/> is the TLS certificate <paramref name="agentId"/> registered (from the
    /// cached connection or keys, else the registrar), compared in constant time.
    /// </summary>
    public async Task<bool> IsRegisteredCertificateAsync(string agentId, X509Certificate2? certificate, CancellationToken cancellationToken)
    {
        if (certificate is null)
            return false;
        if (_byAgent.TryGetValue(agentId, out var cached))
            return cached.Connection.IsRegisteredCertificate(certificate);
        if (_keysByAgent.TryGetValue(agentId, out var keys) && keys.IsRegisteredCertificate(certificate))
            return true;
        if (await LookupAsync(agentId, cancellationToken).ConfigureAwait(false) is not { Active: true } registration)
            return false;
        using var registered = X509Certificate2.CreateFromPem(registration.TlsCertificate);
        if (!AgentConnection.SameCertificate(registered, certificate))
            return false;
        // The agent registered again (new certificate, maybe a new AK): the cached keys are stale.
        if (keys is not null)
            Forget(agentId);
        return true;
    }

    /// <exception cref="AgentNotRegisteredException">The registrar does not hold an active registration.</exception>
    public async Task<AgentConnection> GetAsync(string agentId, string address, CancellationToken cancellationToken)
    {
        if (_byAgent.TryGetValue(agentId, out var cached) && cached.Address == address)
            return cached.Connection;
        var registration = await LookupAsync(agentId, cancellationToken).ConfigureAwait(false)
            ?? throw new AgentNotRegisteredException($"agent '{agentId}' is not registered at the registrar");
        if (!registration.Active)
            throw new AgentNotRegisteredException($"agent '{agentId}' has not completed credential activation at the registrar");
        var pinned = X509Certificate2.CreateFromPem(registration.TlsCertificate);
        var http = clients.Create(new Uri($"https://{address}/"), ServiceRoles.Agent, pinned, options.AgentTimeout);
        var connection = new AgentConnection(AkPublicKeys.Load(registration.AkPublic), pinned, new AgentClient(http), http);
        if (_byAgent.TryRemove(agentId, out var previous))
            previous.Connection.Dispose();
        _byAgent[agentId] = (address, connection);
        return connection;
    }

    /// <summary>A push-mode agent's registered keys, cached until <see cref="Forget"/>.</summary>
    /// <exception cref="AgentNotRegisteredException">The registrar does not hold an active registration.</exception>
    public async Task<RegisteredKeys> GetKeysAsync(string agentId, CancellationToken cancellationToken)
    {
        if (_keysByAgent.TryGetValue(agentId, out var cached))
            return cached;
        var registration = await LookupAsync(agentId, cancellationToken).ConfigureAwait(false);
        if (registration is not { Active: true })
            throw new AgentNotRegisteredException($"agent '{agentId}' has no active registration at the registrar");
        var keys = new RegisteredKeys(AkPublicKeys.Load(registration.AkPublic), X509Certificate2.CreateFromPem(registration.TlsCertificate));
        if (_keysByAgent.TryAdd(agentId, keys))
            return keys;
        keys.Dispose();
        return _keysByAgent[agentId];
    }

    /// <summary>Drops the cached connection and keys (agent removed, or its registration may have changed).</summary>
    public void Forget(string agentId)
    {
        if (_byAgent.TryRemove(agentId, out var previous))
            previous.Connection.Dispose();
        if (_keysByAgent.TryRemove(agentId, out var keys))
            keys.Dispose();
    }

    public void Dispose()
    {
        _registrar.Dispose();
        foreach (var (_, connection) in _byAgent.Values)
            connection.Dispose();
        _byAgent.Clear();
        foreach (var keys in _keysByAgent.Values)
            keys.Dispose();
        _keysByAgent.Clear();
    }
}

/// <summary>The registrar holds no active registration for an agent.</summary>
public sealed class AgentNotRegisteredException(string message) : Exception(message);
