using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// Serves every simulated agent's attestation API (<c>GET /v1/quote</c>) for pull mode: one Kestrel listener on
/// <c>0.0.0.0:PORT</c>, the agent picked by the loopback address the connection arrived at, which also selects the
/// TLS certificate the agent registered. Mutual TLS as the real agent: the client certificate must chain to our CA,
/// and only the verifier and tenant roles may quote. One listener rather than thousands keeps start-up and the
/// accept loop cheap; connections to an address that is no agent's fail the handshake.
/// </summary>
public static class PullServer
{
    public static async Task<WebApplication> StartAsync(SimulatedFleet fleet, CaBundle trust, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(trust);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = "trustlaunch-loadsim" });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Any, fleet.Options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = context =>
                    {
                        var local = (context.Connection.LocalEndPoint as IPEndPoint)?.Address;
                        var agent = fleet.At(local) ?? throw new AuthenticationException($"no simulated agent at {local}");
                        return ValueTask.FromResult(new SslServerAuthenticationOptions
                        {
                            ServerCertificateContext = agent.ServerCertificate,
                            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                            ClientCertificateRequired = true,
                            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                                certificate is X509Certificate2 client && trust.Validate(client, CaBundle.ClientAuthOid, chain?.ChainPolicy.ExtraStore) is null,
                        });
                    },
                });
            });
        });
        var app = builder.Build();
        app.MapGet("/v1/quote", (HttpContext http, string? nonce, string? pcrs, string? since) =>
        {
            var agent = fleet.At(http.Connection.LocalIpAddress);
            if (agent is null)
                return Results.Problem(title: "no agent", detail: $"no simulated agent at {http.Connection.LocalIpAddress}", statusCode: StatusCodes.Status404NotFound);
            var (query, error) = QuoteQuery.Parse(nonce, pcrs, since, agent.Log.LaunchPcr);
            return query is null
                ? Results.Problem(title: "bad quote request", detail: error, statusCode: StatusCodes.Status400BadRequest)
                : Results.Json(agent.Quote(query), ContractsJsonContext.Default.QuoteEvidence);
        }).RequireClientRole(ServiceRoles.Verifier, ServiceRoles.Tenant);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app;
    }
}
