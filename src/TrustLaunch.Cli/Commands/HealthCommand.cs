using System.CommandLine;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands;

/// <summary>
/// <c>trustlaunch health URL --role ROLE [--tls-dir DIR] [--tls-name NAME]</c>: GET <c>URL/healthz</c> over mutual
/// TLS, presenting the NAME certificate (default the role's own, so a container probes itself with what it already
/// holds) and accepting only a server of ROLE. Exit 0 on 200; anything else — another status, a refused or
/// unreachable server — is exit 1 with the reason. What a container's HEALTHCHECK runs.
/// </summary>
public static class HealthCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("URL") { Description = "The service's listener, e.g. https://127.0.0.1:8890" };
        var role = new Option<string>("--role") { Description = "The role the server's certificate must carry", HelpName = "ROLE", Required = true };
        role.AcceptOnlyFromAmong([.. ServiceRoles.All.Where(ServiceRoles.IsServer)]);
        var tlsDir = new Option<string>("--tls-dir")
        {
            Description = "Directory with the client certificate, key, ca.crt and crl.pem (default $TRUSTLAUNCH_TLS_DIR, else /etc/trustlaunch/tls)",
            HelpName = "DIR",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TRUSTLAUNCH_TLS_DIR") ?? "/etc/trustlaunch/tls",
        };
        var tlsName = new Option<string?>("--tls-name") { Description = "Certificate name in --tls-dir (default: the --role)", HelpName = "NAME" };
        var command = new Command("health", "Probe a service's /healthz with a client certificate: exit 0 on 200, else 1 with the reason");
        command.Arguments.Add(url);
        command.Options.Add(role);
        command.Options.Add(tlsDir);
        command.Options.Add(tlsName);
        command.SetAction(async (parse, ct) =>
        {
            var serverRole = parse.GetValue(role)!;
            var name = parse.GetValue(tlsName) ?? serverRole;
            var uri = ServiceCall.HttpsUrl("URL", parse.GetValue(url));
            using var identity = TlsIdentity.FromDirectory(parse.GetValue(tlsDir)!, name);
            using var http = new Hosting.Clients.ServiceHttpClientFactory(identity).Create(uri, serverRole, timeout: TimeSpan.FromSeconds(5));
            try
            {
                using var response = await http.GetAsync("healthz", ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                    throw new CliFailureException($"{serverRole} {uri} unhealthy: /healthz answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }
            catch (HttpRequestException e)
            {
                throw new CliFailureException($"{serverRole} {uri} unreachable: {e.Message}");
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new CliFailureException($"{serverRole} {uri} unreachable: no answer within 5 s");
            }
            await parse.InvocationConfiguration.Output.WriteLineAsync($"{serverRole} {uri} healthy").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
