using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Hosting.Clients;

/// <summary>
/// The tenant API of the verifier (mTLS with a tenant certificate), as the CLI uses it. Error answers throw
/// <see cref="ServiceProblemException"/> carrying the verifier's problem detail; "not found" lookups return null.
/// </summary>
public sealed class VerifierClient(HttpClient http)
{
    public Task<AgentStatus> AddAgentAsync(AddAgentRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/agents", JsonContent.Create(request, ContractsJsonContext.Default.AddAgentRequest),
            ContractsJsonContext.Default.AgentStatus, cancellationToken);

    /// <summary>The agents under attestation; with <paramref name="state"/>, only those in it.</summary>
    public Task<IReadOnlyList<AgentStatus>> ListAgentsAsync(string? state = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, state is null ? "v1/agents" : "v1/agents?state=" + Uri.EscapeDataString(state), null, ContractsJsonContext.Default.IReadOnlyListAgentStatus, cancellationToken);

    public Task<AgentStatus?> GetAgentAsync(string agentId, CancellationToken cancellationToken = default) =>
        FindAsync($"v1/agents/{Uri.EscapeDataString(agentId)}", ContractsJsonContext.Default.AgentStatus, cancellationToken);

    /// <summary>What the verifier established of the agent (a tenant or kbs certificate), or null when it does not
    /// attest it.</summary>
    public Task<AgentAppraisal?> GetAppraisalAsync(string agentId, CancellationToken cancellationToken = default) =>
        FindAsync($"v1/agents/{Uri.EscapeDataString(agentId)}/appraisal", ContractsJsonContext.Default.AgentAppraisal, cancellationToken);

    public Task RemoveAgentAsync(string agentId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"v1/agents/{Uri.EscapeDataString(agentId)}", cancellationToken);

    /// <summary>Holds the agent to <paramref name="policy"/> (its latest version), appraised afresh from the log's start.</summary>
    public Task<AgentStatus> UpdateAgentPolicyAsync(string agentId, string policy, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, $"v1/agents/{Uri.EscapeDataString(agentId)}/policy",
            JsonContent.Create(new AgentPolicyUpdate(policy), ContractsJsonContext.Default.AgentPolicyUpdate), ContractsJsonContext.Default.AgentStatus, cancellationToken);

    public Task<AgentStatus> PauseAgentAsync(string agentId, bool pause, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, $"v1/agents/{Uri.EscapeDataString(agentId)}/{(pause ? "pause" : "resume")}", null,
            ContractsJsonContext.Default.AgentStatus, cancellationToken);

    public Task<IReadOnlyList<AttestationResultRecord>> GetResultsAsync(string agentId, int last, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, string.Create(CultureInfo.InvariantCulture, $"v1/agents/{Uri.EscapeDataString(agentId)}/results?last={last}"), null,
            ContractsJsonContext.Default.IReadOnlyListAttestationResultRecord, cancellationToken);

    public Task<StoredPolicy> AddPolicyAsync(PolicyDocument policy, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/policies", JsonContent.Create(policy, ContractsJsonContext.Default.PolicyDocument),
            ContractsJsonContext.Default.StoredPolicy, cancellationToken);

    public Task<IReadOnlyList<StoredPolicy>> ListPoliciesAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/policies", null, ContractsJsonContext.Default.IReadOnlyListStoredPolicy, cancellationToken);

    public Task<StoredPolicy?> GetPolicyAsync(string name, int? version = null, CancellationToken cancellationToken = default) =>
        FindAsync(version is { } v
            ? string.Create(CultureInfo.InvariantCulture, $"v1/policies/{Uri.EscapeDataString(name)}?version={v}")
            : $"v1/policies/{Uri.EscapeDataString(name)}", ContractsJsonContext.Default.StoredPolicy, cancellationToken);

    public Task RemovePolicyAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"v1/policies/{Uri.EscapeDataString(name)}", cancellationToken);

    public Task<IReadOnlyList<VerifierInstanceStatus>> ListInstancesAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/instances", null, ContractsJsonContext.Default.IReadOnlyListVerifierInstanceStatus, cancellationToken);

    public Task<IReadOnlyList<OutboxEntryStatus>> ListOutboxAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/outbox", null, ContractsJsonContext.Default.IReadOnlyListOutboxEntryStatus, cancellationToken);

    /// <summary>The PEM public key of whichever verifier instance signs with <paramref name="keyId"/>, or null.</summary>
    public async Task<string?> GetPublicKeyAsync(string keyId, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync($"v1/keys/{Uri.EscapeDataString(keyId)}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        await ServiceProblemException.EnsureSuccessAsync(response, "verifier", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<T?> FindAsync<T>(string uri, JsonTypeInfo<T> type, CancellationToken cancellationToken) where T : class
    {
        using var response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        await ServiceProblemException.EnsureSuccessAsync(response, "verifier", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string uri, HttpContent? content, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "verifier", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceProblemException($"verifier {method} {uri}", response.StatusCode, "empty body", null);
    }

    private async Task SendAsync(HttpMethod method, string uri, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "verifier", cancellationToken).ConfigureAwait(false);
    }
}
