using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Attestation;

/// <summary><see cref="INodeDirectory"/> over the registrar's management API (its lookup by AK) and the verifier's
/// tenant API (an agent's appraisal), mutual TLS with the broker's kbs certificate: read-only routes.</summary>
public sealed class RegistrarVerifierDirectory(RegistrarClient registrar, VerifierClient verifier) : INodeDirectory
{
    public async Task<string?> FindActivatedAgentAsync(byte[] akPublic, CancellationToken cancellationToken) =>
        (await registrar.FindByAkAsync(akPublic, cancellationToken).ConfigureAwait(false)).Where(a => a.Active).ToList() switch
        {
            [] => null,
            [var agent] => agent.AgentId,
            var several => throw KbsError.AttestationFailed(
                $"the AK is registered by several agents ({string.Join(", ", several.Select(a => a.AgentId))}): it does not name one node"),
        };

    public Task<AgentAppraisal?> AppraisalAsync(string agentId, CancellationToken cancellationToken) =>
        verifier.GetAppraisalAsync(agentId, cancellationToken);
}
