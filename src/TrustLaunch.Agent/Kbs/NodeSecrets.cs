using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Secrets;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Kbs;

/// <summary>
/// Opens sealed secrets on this node: the signature is checked against <c>--secret-trust</c> before anything is
/// fetched, the resource (vault) or KEK (envelope) comes through <see cref="NodeKeyBroker.FetchAsync(string, CancellationToken)"/> (so only an
/// Attested node gets it, measured as <c>KeyReleased</c>), and <c>SecretReleased</c> {name, sealed digest} is measured
/// before the value is handed over — never the value. A release that cannot be measured is not handed over.
/// </summary>
public sealed class NodeSecrets(SealedSecretSigners signers, NodeKeyBroker broker, AgentRuntime agent, ILogger<NodeSecrets> logger)
{
    /// <summary>Why an agent without this service (no <c>--kbs</c>, or no <c>--secret-trust</c>) opens no sealed secret.</summary>
    public static string NotConfiguredReason(bool hasBroker) => !hasBroker
        ? "this agent has no key broker: start it with serve agent --kbs https://HOST:8080"
        : "this agent trusts no sealed secret signers: start it with serve agent --secret-trust DIR (KID.pem public keys)";

    /// <summary>Checks <paramref name="name"/> and the signature of <paramref name="sealedText"/> without fetching or measuring anything.</summary>
    /// <exception cref="SealedSecretException">The name or the sealed form is refused.</exception>
    public void Verify(string name, string sealedText)
    {
        CheckName(name);
        SealedSecret.Open(sealedText, signers);
    }

    /// <exception cref="SealedSecretException">The name or the sealed form is refused, or it does not open.</exception>
    /// <exception cref="ResourceUriRefusedException">The sealed form names another broker.</exception>
    /// <exception cref="TrustLaunch.Kbs.Client.KbsRefusedException">The broker refused (e.g. the node is not Attested).</exception>
    public Task<byte[]> UnsealAsync(string name, string sealedText, CancellationToken cancellationToken) => UnsealAsync(name, sealedText, null, cancellationToken);

    /// <summary>Unseals for <paramref name="container"/> of this node (null: the node itself); both releases name it.</summary>
    public async Task<byte[]> UnsealAsync(string name, string sealedText, ContainerEvidence? container, CancellationToken cancellationToken)
    {
        CheckName(name);
        var secret = SealedSecret.Open(sealedText, signers);
        var value = await secret.UnsealAsync((uri, ct) => broker.FetchAsync(uri, container, ct), cancellationToken).ConfigureAwait(false);
        try
        {
            var released = JsonSerializer.SerializeToElement(new SecretReleasedEvent(name, secret.Digest, container?.Id), LaunchEventsJsonContext.Default.SecretReleasedEvent);
            await agent.Log.MeasureAsync(LaunchEvents.SecretReleased, released, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(value);
            throw;
        }
        logger.LogInformation("Sealed secret {Name} ({SealedDigest}, kid {Kid}) unsealed through {Resource}", name, secret.Digest, secret.Kid, secret.ResourceUri);
        return value;
    }

    private static void CheckName(string name)
    {
        if (!SecretReleasedEvent.IsName(name))
            throw new SealedSecretException("secret name is not 1-255 letters, digits, '.', '_' or '-'");
    }
}
