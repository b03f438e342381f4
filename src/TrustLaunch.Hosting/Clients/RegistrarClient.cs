using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Hosting.Clients;

/// <summary>
/// Typed client of the registrar (<c>RegistrarContracts.cs</c>). Agents call <see cref="RegisterAsync"/> and
/// <see cref="ActivateAsync"/> on the agent port; tenants and verifiers call the others on the management port
/// (mutual TLS). Build the HttpClient with <see cref="ServiceHttpClientFactory"/>. Refusals throw
/// <see cref="ServiceProblemException"/> carrying the registrar's reason.
/// </summary>
public sealed class RegistrarClient(HttpClient http)
{
    /// <summary>
    /// The activation proof: HMAC-SHA256 keyed with the activated credential over the UTF-8 agent id, a zero byte and
    /// SHA-256 of the DER of the TLS certificate registered (<paramref name="tlsCertificatePem"/>), so the proof the
    /// TPM's holder gives vouches for that certificate and no other.
    /// </summary>
    public static byte[] ComputeProof(ReadOnlySpan<byte> credential, string agentId, string tlsCertificatePem)
    {
        ArgumentNullException.ThrowIfNull(agentId);
        using var certificate = X509Certificate2.CreateFromPem(tlsCertificatePem);
        var id = Encoding.UTF8.GetBytes(agentId);
        var message = new byte[id.Length + 1 + SHA256.HashSizeInBytes];
        id.CopyTo(message, 0);
        SHA256.HashData(certificate.RawData, message.AsSpan(id.Length + 1));
        return HMACSHA256.HashData(credential, message);
    }

    public async Task<CredentialChallenge> RegisterAsync(string agentId, AgentRegistration registration, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync(AgentPath(agentId), registration, ContractsJsonContext.Default.AgentRegistration, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, $"register agent {agentId}", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.CredentialChallenge, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("the registrar answered the registration with an empty challenge");
    }

    public async Task ActivateAsync(string agentId, ActivationProof proof, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync(AgentPath(agentId) + "/activate", proof, ContractsJsonContext.Default.ActivationProof, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, $"activate agent {agentId}", cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RegisteredAgent>> ListAsync(CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(new Uri("v1/agents", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "list agents", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.IReadOnlyListRegisteredAgent, cancellationToken).ConfigureAwait(false) ?? [];
    }

    /// <summary>The registration, or null when the agent is not registered.</summary>
    public async Task<RegisteredAgent?> GetAsync(string agentId, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(AgentPath(agentId), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        await ServiceProblemException.EnsureSuccessAsync(response, $"get agent {agentId}", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.RegisteredAgent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The active registrations whose AK is <paramref name="akPublic"/> (TPM2B_PUBLIC): none, one, or the
    /// first two when several agents registered it.</summary>
    public async Task<IReadOnlyList<RegisteredAgent>> FindByAkAsync(byte[] akPublic, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(new Uri("v1/agents/by-ak/" + Base64Url.EncodeToString(akPublic), UriKind.Relative), cancellationToken)
            .ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "find agents by AK", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.IReadOnlyListRegisteredAgent, cancellationToken).ConfigureAwait(false) ?? [];
    }

    /// <summary>Returns false when the agent was not registered.</summary>
    public async Task<bool> DeleteAsync(string agentId, CancellationToken cancellationToken = default)
    {
        using var response = await http.DeleteAsync(AgentPath(agentId), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return false;
        await ServiceProblemException.EnsureSuccessAsync(response, $"delete agent {agentId}", cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static Uri AgentPath(string agentId) => new("v1/agents/" + Uri.EscapeDataString(agentId), UriKind.Relative);
}
