using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Web;

/// <summary>Endpoint conventions that bind routes to a listener and to the client certificate's role.</summary>
public static class ClientRoles
{
    /// <summary>
    /// Serves the group only on connections accepted by <paramref name="endpoint"/>'s listener (its local address and
    /// port, see <see cref="ListenerMatcherPolicy"/>), so management routes never answer on an agent-facing listener.
    /// </summary>
    public static TBuilder OnEndpoint<TBuilder>(this TBuilder builder, ServiceEndpoint endpoint) where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return builder.WithMetadata(new ListenerMetadata(endpoint));
    }

    /// <summary>Serves the group only on the service's unix socket (connections without a local IP address): on TCP listeners its routes are 404.</summary>
    public static TBuilder OnUnixSocket<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ListenerMetadata(null));

    /// <summary>
    /// Requires a client certificate (already chain-checked by the mTLS listener) whose <c>trustlaunch://ROLE/NAME</c>
    /// role is one of <paramref name="roles"/>; otherwise 403 problem details naming the roles allowed.
    /// </summary>
    public static TBuilder RequireClientRole<TBuilder>(this TBuilder builder, params string[] roles) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ClientRoleMetadata(roles)).AddEndpointFilter(async (context, next) =>
            Refusal(context.HttpContext, roles) ?? await next(context).ConfigureAwait(false));

    /// <summary>The 403 problem details when the connection's client certificate has none of <paramref name="roles"/>; null when it has one.</summary>
    internal static IResult? Refusal(HttpContext context, IReadOnlyCollection<string> roles)
    {
        var allowed = string.Join(", ", roles);
        var certificate = context.Connection.ClientCertificate;
        if (certificate is null)
            return Results.Problem(title: "client certificate required", detail: $"this endpoint needs a client certificate of role {allowed}", statusCode: StatusCodes.Status403Forbidden);
        var identity = CertificateRoles.Read(certificate);
        if (identity is not { } id || !roles.Contains(id.Role, StringComparer.Ordinal))
            return Results.Problem(title: "role not allowed",
                detail: $"client certificate role '{identity?.Role ?? "none"}' is not allowed here: needs {allowed}", statusCode: StatusCodes.Status403Forbidden);
        return null;
    }
}

/// <summary>Endpoint metadata from <see cref="ClientRoles.RequireClientRole"/>: the roles the route admits.</summary>
internal sealed record ClientRoleMetadata(IReadOnlyList<string> Roles);
