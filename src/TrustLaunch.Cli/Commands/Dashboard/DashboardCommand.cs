using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Dashboard;

/// <summary>
/// <c>trustlaunch dashboard</c>: opens the verifier's fleet dashboard for a person's browser, which has no client
/// certificate. It listens on a loopback port only and forwards the dashboard's reads (GET) to the verifier's tenant
/// API with the tenant certificate; the browser proves it was given the printed URL (a one-time token, then a cookie
/// for this port), and requests naming another host (DNS rebinding) are refused.
/// </summary>
public static class DashboardCommand
{
    public const int DefaultPort = 8882;

    public static Command Create()
    {
        var tenant = new TenantOptions();
        var listen = new Option<string>("--listen")
        {
            Description = $"Loopback address the browser connects to (IP:PORT, port 0 picks one; default 127.0.0.1:{DefaultPort})",
            HelpName = "ADDRESS",
            DefaultValueFactory = _ => $"127.0.0.1:{DefaultPort}",
        };
        var command = new Command("dashboard", "Serve the verifier's fleet dashboard on a loopback port for a browser") { listen };
        tenant.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            if (!IPEndPoint.TryParse(parse.GetValue(listen)!, out var address) || !parse.GetValue(listen)!.Contains(':', StringComparison.Ordinal))
                throw new CliUsageException($"--listen '{parse.GetValue(listen)}' is not IP:PORT (e.g. 127.0.0.1:{DefaultPort}, or 127.0.0.1:0 for any free port)");
            // The port acts with the tenant's certificate: another host must never reach it.
            if (!IPAddress.IsLoopback(address.Address))
                throw new CliUsageException($"--listen {address} is not a loopback address: the dashboard port acts as the tenant, so it listens on 127.0.0.1 or ::1 only");
            var verifier = ServiceCall.HttpsUrl(tenant.Verifier.Name, parse.GetValue(tenant.Verifier));
            using var identity = TlsIdentity.FromDirectory(parse.GetValue(tenant.TlsDirectory)!, parse.GetValue(tenant.TlsName)!);
            // No timeout: the event stream stays open as long as the page does.
            using var http = new ServiceHttpClientFactory(identity).Create(verifier, ServiceRoles.Verifier, timeout: Timeout.InfiniteTimeSpan);
            var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(address));
            await using var app = builder.Build();
            var forwarder = new DashboardForwarder(http, token);
            app.Run(forwarder.HandleAsync);
            await app.StartAsync(ct).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            forwarder.Origin = new Uri(bound);
            // The URL carries the token, like a notebook server's: it goes to this terminal only, never to a log.
            parse.InvocationConfiguration.Output.WriteLine($"dashboard: {bound}/?token={token}");
            parse.InvocationConfiguration.Output.WriteLine($"forwarding to {verifier} as {parse.GetValue(tenant.TlsName)}; Ctrl+C stops");
            await parse.InvocationConfiguration.Output.FlushAsync(ct).ConfigureAwait(false);
            await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
