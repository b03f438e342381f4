using System.Net.Http.Json;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Hosting.Clients;

/// <summary>
/// A push-mode agent's calls to the verifier's agent-facing port (TLS; the HttpClient presents the agent's registered
/// TLS certificate as its client certificate). Refusals throw <see cref="ServiceProblemException"/> with the
/// verifier's problem detail; network faults surface as <see cref="HttpRequestException"/> or a timeout.
/// </summary>
public sealed class PushAttestationClient(HttpClient http)
{
    /// <summary><c>POST /v1/agents/{id}/attestations</c>: a new challenge, replacing any outstanding one.</summary>
    public async Task<AttestationChallenge> RequestChallengeAsync(string agentId, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsync(AttestationsPath(agentId), null, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "verifier challenge", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.AttestationChallenge, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceProblemException("verifier challenge", response.StatusCode, "empty body", null);
    }

    /// <summary><c>POST /v1/agents/{id}/attestations/{challenge_id}</c> with the evidence the challenge asked for.</summary>
    public async Task<PushAttestationResult> PostEvidenceAsync(string agentId, string challengeId, QuoteEvidence evidence, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync($"{AttestationsPath(agentId)}/{Uri.EscapeDataString(challengeId)}", evidence,
            ContractsJsonContext.Default.QuoteEvidence, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "verifier evidence", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.PushAttestationResult, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceProblemException("verifier evidence", response.StatusCode, "empty body", null);
    }

    /// <summary><c>POST /v1/agents/{id}/attestations/{challenge_id}/problem</c>: why the agent cannot answer with evidence.</summary>
    public async Task<PushAttestationResult> ReportProblemAsync(string agentId, string challengeId, AgentProblem problem, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync($"{AttestationsPath(agentId)}/{Uri.EscapeDataString(challengeId)}/problem", problem,
            ContractsJsonContext.Default.AgentProblem, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "verifier problem report", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.PushAttestationResult, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceProblemException("verifier problem report", response.StatusCode, "empty body", null);
    }

    private static string AttestationsPath(string agentId) => $"v1/agents/{Uri.EscapeDataString(agentId)}/attestations";
}
