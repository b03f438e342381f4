using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace TrustLaunch.Hosting.Web;

/// <summary>Endpoint metadata from <see cref="ClientRoles.OnEndpoint"/>: the listener the endpoint answers on (null:
/// the unix socket, <see cref="ClientRoles.OnUnixSocket"/>).</summary>
internal sealed record ListenerMetadata(ServiceEndpoint? Endpoint)
{
    /// <summary>Whether a connection accepted on <paramref name="localAddress"/>:<paramref name="localPort"/> came in
    /// through this listener (a wildcard listen address accepts any local address on its port; a unix socket
    /// connection has no local address).</summary>
    public bool Accepts(IPAddress? localAddress, int localPort)
    {
        if (Endpoint is null)
            return localAddress is null;
        if (localPort != Endpoint.Address.Port || localAddress is null)
            return false;
        var listen = Endpoint.Address.Address;
        if (listen.Equals(IPAddress.Any) || listen.Equals(IPAddress.IPv6Any))
            return true;
        return Normalize(listen).Equals(Normalize(localAddress));
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}

/// <summary>
/// Routes a request only to endpoints of the listener its connection was accepted on (the connection's local
/// address and port), never by the Host header a client controls: a management route is unreachable through the
/// agent port whatever Host it names (404), and a client reaching the service through a port mapping or another name
/// still lands in the right group.
/// </summary>
internal sealed class ListenerMatcherPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    public override int Order => 0;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) =>
        endpoints.Any(e => e.Metadata.GetMetadata<ListenerMetadata>() is not null);

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var connection = httpContext.Connection;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i)
                && candidates[i].Endpoint.Metadata.GetMetadata<ListenerMetadata>() is { } listener
                && !listener.Accepts(connection.LocalIpAddress, connection.LocalPort))
                candidates.SetValidity(i, false);
        }
        return Task.CompletedTask;
    }
}
