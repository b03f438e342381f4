using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Kbs;

/// <summary>
/// The agent's attester for the key broker it was started with (<c>serve agent --kbs URL</c>): one whole Trustee
/// handshake per resource (auth → attest with <see cref="AgentTeeEvidence"/> and an ephemeral P-256 tee key → resource
/// → JWE opened), then <c>KeyReleased</c> measured before the bytes are handed over — never the bytes themselves. A
/// release that cannot be measured is not handed over.
/// </summary>
public sealed class NodeKeyBroker(KbsClient client, AgentRuntime agent, ILogger<NodeKeyBroker> logger)
{
    /// <summary>The broker as the launch log records it, e.g. <c>https://kbs:8080</c>.</summary>
    public string Broker { get; } = client.Broker.GetLeftPart(UriPartial.Authority);

    /// <exception cref="ResourceUriRefusedException">The URI is malformed or names another broker.</exception>
    /// <exception cref="KbsRefusedException">The broker refused (its error name and detail).</exception>
    /// <exception cref="KbsProtocolException">The broker's answer was refused here (e.g. a JWE that does not open).</exception>
    /// <exception cref="Attestation.LaunchLogNotReadyException">The log and launch PCR disagree: no quote, no measurement.</exception>
    public Task<byte[]> FetchAsync(string uri, CancellationToken cancellationToken) => FetchAsync(uri, null, cancellationToken);

    /// <summary>A resource for <paramref name="container"/> of this node (its workload gateway asked; null: the node
    /// itself): the handshake binds the container's id, the broker decides with what the verifier saw of it, and the
    /// <c>KeyReleased</c> names it.</summary>
    public async Task<byte[]> FetchAsync(string uri, ContainerEvidence? container, CancellationToken cancellationToken)
    {
        var resource = Resolve(uri);
        var bytes = await client.FetchAsync(resource, container, cancellationToken).ConfigureAwait(false);
        try
        {
            var released = JsonSerializer.SerializeToElement(new KeyReleasedEvent(resource.WithoutAuthority, Broker, container?.Id), LaunchEventsJsonContext.Default.KeyReleasedEvent);
            await agent.Log.MeasureAsync(LaunchEvents.KeyReleased, released, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(bytes);
            throw;
        }
        logger.LogInformation("Key broker {Broker} released {Resource} ({Size} bytes){Container}", Broker, resource.WithoutAuthority, bytes.Length,
            container is null ? "" : $" to container {container.Id}");
        return bytes;
    }

    /// <summary>An attested session for <paramref name="container"/> (its attestation token and tee key), as a
    /// workload's <c>GET /aa/token</c> hands over: the broker's token names the container, so it reads only what the
    /// container may. Dispose it.</summary>
    public Task<KbsAttestedSession> AttestAsync(ContainerEvidence? container, CancellationToken cancellationToken) =>
        client.AttestAsync(container, cancellationToken);

    private KbsResourceUri Resolve(string uri)
    {
        KbsResourceUri resource;
        try
        {
            resource = KbsResourceUri.Parse(uri);
        }
        catch (FormatException e)
        {
            throw new ResourceUriRefusedException(e.Message);
        }
        if (!resource.IsFor(client.Broker))
            throw new ResourceUriRefusedException($"resource URI '{uri}' names the broker {resource.Authority}; this agent's broker is {client.Broker.Authority}");
        return resource;
    }
}

/// <summary>A resource URI this agent will not fetch: malformed, or naming a broker other than its own.</summary>
public sealed class ResourceUriRefusedException(string message) : Exception(message);
