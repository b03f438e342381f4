using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Kbs.Attestation;

/// <summary><see cref="INodeDirectory"/> over the registrar's management API (its lookup by AK) and the verifier's
/// tenant API (an agent's appraisal), mutual TLS with the broker's kbs certificate: read-only routes.</summary>
public sealed class RegistrarVerifierDirectory(RegistrarClient registrar, VerifierClient verifier) : INodeDirectory
{
    public async Task<string?> FindActivatedAgentAsync(byte[] akPublic, CancellationToken cancellationToken) =>
        (await registrar.FindByAkAsync(akPublic, cancellationToken).ConfigureAwait(false)) is { Active: true } agent ? agent.AgentId : null;

    public Task<AgentAppraisal?> AppraisalAsync(string agentId, CancellationToken cancellationToken) =>
        verifier.GetAppraisalAsync(agentId, cancellationToken);
}
