using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Kbs.Attestation;

/// <summary>Where the broker learns which node an AK belongs to and how the verifier judges it.</summary>
public interface INodeDirectory
{
    /// <summary>The agent whose AK (TPM2B_PUBLIC bytes) the registrar activated, or null.</summary>
    /// <exception cref="Protocol.KbsError">AttestationFailed: several agents registered the AK.</exception>
    Task<string?> FindActivatedAgentAsync(byte[] akPublic, CancellationToken cancellationToken);

    /// <summary>What the verifier established of the agent (state, policy, verified images), or null when it does
    /// not attest that agent.</summary>
    Task<AgentAppraisal?> AppraisalAsync(string agentId, CancellationToken cancellationToken);
}
