using System.CommandLine;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Agent;

/// <summary>
/// How tenant commands reach the verifier: <c>--verifier URL</c> (or <c>$TRUSTLAUNCH_VERIFIER</c>, default
/// https://127.0.0.1:8881) with the tenant certificate from <c>--tls-dir</c> (NAME.crt, NAME.key, ca.crt, crl.pem; NAME from
/// <c>--tls-name</c>, default <c>tenant</c>; or <c>$TRUSTLAUNCH_TLS_DIR</c>). Verifier errors become one-line failures.
/// </summary>
public sealed class TenantOptions
{
    public const string VerifierVariable = "TRUSTLAUNCH_VERIFIER";
    public const string TlsDirectoryVariable = "TRUSTLAUNCH_TLS_DIR";

    public Option<string> Verifier { get; } = new("--verifier")
    {
        Description = $"Verifier tenant API URL (default ${VerifierVariable}, else https://127.0.0.1:8881)",
        HelpName = "URL",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(VerifierVariable) ?? "https://127.0.0.1:8881",
    };

    public Option<string> TlsDirectory { get; } = TlsDirectoryOption();

    public Option<string> TlsName { get; } = TlsNameOption();

    /// <summary><c>--tls-dir</c>: where every tenant command (verifier or registrar) finds its certificate.</summary>
    public static Option<string> TlsDirectoryOption() => new("--tls-dir")
    {
        Description = $"Directory with the tenant certificate, key, ca.crt and crl.pem (default ${TlsDirectoryVariable}, else /etc/trustlaunch/tls)",
        HelpName = "DIR",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(TlsDirectoryVariable) ?? "/etc/trustlaunch/tls",
    };

    public static Option<string> TlsNameOption() => new("--tls-name")
    {
        Description = "Certificate name in --tls-dir (default tenant)",
        HelpName = "NAME",
        Recursive = true,
        DefaultValueFactory = _ => ServiceRoles.Tenant,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Verifier);
        command.Options.Add(TlsDirectory);
        command.Options.Add(TlsName);
    }

    /// <summary>Runs <paramref name="call"/> against the verifier; its error answers and network faults fail the command.</summary>
    public Task<T> CallAsync<T>(ParseResult parse, Func<VerifierClient, Task<T>> call) =>
        ServiceCall.RunAsync(parse, Verifier, TlsDirectory, TlsName, ServiceRoles.Verifier, "verifier", http => call(new VerifierClient(http)));
}
