using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Commands.Golden;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Kbs;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// <c>trustlaunch serve kbs</c>: the key broker, Trustee's KBS protocol 0.4.0 on <c>--listen</c> (TLS). It asks the
/// registrar which agent an AK belongs to and the verifier how that agent stands, with its own (kbs) certificate.
/// </summary>
public static class ServeKbsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var serve = new ServeOptions(ServiceRoles.Kbs, "/var/lib/trustlaunch/kbs");
        var listen = ServeOptions.Listen("--listen", "Attester-facing TLS listener", KbsOptions.DefaultPort);
        var registrar = Url("--registrar", "Registrar management URL", "https://127.0.0.1:8891");
        var verifier = Url("--verifier", "Verifier tenant URL", "https://127.0.0.1:8881");
        var signingKey = new Option<string>("--signing-key")
        {
            Description = "KEYREF of the key that signs attestation tokens: a PEM private key file or a pkcs11: URI",
            HelpName = "KEYREF",
            Required = true,
        };
        var sessionTimeout = new Option<double>("--session-timeout")
        {
            Description = $"Seconds a session lives after /kbs/v0/auth (default {KbsOptions.DefaultSessionTimeout.TotalSeconds})",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => KbsOptions.DefaultSessionTimeout.TotalSeconds,
        };
        var command = new Command("kbs", "Run the key broker: resources released only to attested nodes (Trustee KBS protocol)")
        {
            listen, registrar, verifier, signingKey, sessionTimeout,
        };
        serve.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var seconds = parse.GetValue(sessionTimeout);
            if (seconds is < 1 or > 86_400)
                throw new CliUsageException(string.Create(CultureInfo.InvariantCulture, $"--session-timeout {seconds} must be 1 to 86400 seconds"));
            var registrarUrl = ParseUrl(parse, registrar);
            var verifierUrl = ParseUrl(parse, verifier);
            var signer = SigningKeys.Open(parse.GetValue(signingKey)!);
            try
            {
                var kbs = new KbsOptions(
                    serve.DataDirectoryPath(parse),
                    ServeOptions.Endpoint(parse, listen, "attesters", mutualTls: false),
                    serve.LoadIdentity(parse),
                    registrarUrl,
                    verifierUrl,
                    signer)
                {
                    SessionTimeout = TimeSpan.FromSeconds(seconds),
                };
                return await ServeOptions.RunAsync(KbsApp.Build(kbs), ct).ConfigureAwait(false);
            }
            finally
            {
                (signer as IDisposable)?.Dispose();
            }
        });
        return command;
    }

    private static Option<string> Url(string name, string description, string defaultValue) => new(name)
    {
        Description = $"{description} (default {defaultValue})",
        HelpName = "URL",
        DefaultValueFactory = _ => defaultValue,
    };

    private static Uri ParseUrl(ParseResult parse, Option<string> option) =>
        Uri.TryCreate(parse.GetValue(option), UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps
            ? url
            : throw new CliUsageException($"{option.Name} '{parse.GetValue(option)}' is not an https:// URL");
}
