using System.Security.Cryptography;
using TrustLaunch.Hosting.Clients;

namespace TrustLaunch.Kbs.Attestation;

/// <summary><see cref="INodeDirectory"/> over the registrar's and the verifier's management APIs (mutual TLS with
/// the broker's certificate).</summary>
public sealed class RegistrarVerifierDirectory(RegistrarClient registrar, VerifierClient verifier) : INodeDirectory
{
    public async Task<string?> FindActivatedAgentAsync(byte[] akPublic, CancellationToken cancellationToken)
    {
        foreach (var agent in await registrar.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (agent.Active && agent.AkPublic.Length == akPublic.Length && CryptographicOperations.FixedTimeEquals(agent.AkPublic, akPublic))
                return agent.AgentId;
        }
        return null;
    }

    public async Task<string?> VerifierStateAsync(string agentId, CancellationToken cancellationToken) =>
        (await verifier.GetAgentAsync(agentId, cancellationToken).ConfigureAwait(false))?.State;
}
