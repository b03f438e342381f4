using System.CommandLine;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Kbs.Admin;

namespace TrustLaunch.Cli.Commands.Kbs;

/// <summary>
/// How the admin commands reach the key broker: <c>--kbs-admin URL</c> (or <c>$TRUSTLAUNCH_KBS_ADMIN</c>, default
/// https://127.0.0.1:8081) with the kbs-admin certificate from <c>--tls-dir</c> (NAME.crt, NAME.key, ca.crt, crl.pem;
/// NAME from <c>--tls-name</c>, default <c>kbs-admin</c>). Broker errors become one-line failures.
/// </summary>
public sealed class KbsAdminOptions
{
    public const string UrlVariable = "TRUSTLAUNCH_KBS_ADMIN";

    public Option<string> Url { get; } = new("--kbs-admin")
    {
        Description = $"Key broker admin URL (default ${UrlVariable}, else https://127.0.0.1:8081)",
        HelpName = "URL",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(UrlVariable) ?? "https://127.0.0.1:8081",
    };

    public Option<string> TlsDirectory { get; } = new("--tls-dir")
    {
        Description = $"Directory with the kbs-admin certificate, key, ca.crt and crl.pem (default ${Agent.TenantOptions.TlsDirectoryVariable}, else /etc/trustlaunch/tls)",
        HelpName = "DIR",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(Agent.TenantOptions.TlsDirectoryVariable) ?? "/etc/trustlaunch/tls",
    };

    public Option<string> TlsName { get; } = new("--tls-name")
    {
        Description = $"Certificate name in --tls-dir (default {ServiceRoles.KbsAdmin})",
        HelpName = "NAME",
        Recursive = true,
        DefaultValueFactory = _ => ServiceRoles.KbsAdmin,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Url);
        command.Options.Add(TlsDirectory);
        command.Options.Add(TlsName);
    }

    /// <summary>Runs <paramref name="call"/> against the broker; its error answers and network faults fail the command.</summary>
    public Task<T> CallAsync<T>(ParseResult parse, Func<KbsAdminClient, Task<T>> call) =>
        ServiceCall.RunAsync(parse, Url, TlsDirectory, TlsName, ServiceRoles.Kbs, "key broker", http => call(new KbsAdminClient(http)));
}
