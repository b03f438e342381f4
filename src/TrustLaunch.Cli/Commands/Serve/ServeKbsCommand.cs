using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Commands.Golden;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hsm;
using TrustLaunch.Kbs;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// <c>trustlaunch serve kbs</c>: the key broker, Trustee's KBS protocol 0.4.0 on <c>--listen</c> (TLS), its admin API
/// on <c>--admin-listen</c> (mutual TLS, kbs-admin). It asks the registrar which agent an AK belongs to and the
/// verifier how that agent stands, with its own (kbs) certificate; resources are kept sealed under <c>--wrap-key</c>.
/// </summary>
public static class ServeKbsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var serve = new ServeOptions(ServiceRoles.Kbs, "/var/lib/trustlaunch/kbs");
        var listen = ServeOptions.Listen("--listen", "Attester-facing TLS listener", KbsOptions.DefaultPort);
        var adminListen = ServeOptions.Listen("--admin-listen", "Admin listener (mutual TLS, kbs-admin certificates)", KbsOptions.DefaultAdminPort);
        var wrapKey = new Option<string>("--wrap-key")
        {
            Description = "pkcs11: URI of the AES-256 key (usage encrypt) that wraps every resource's data key; PIN from its pin-source=FILE or $TRUSTLAUNCH_HSM_PIN",
            HelpName = "URI",
            Required = true,
        };
        var standingCache = new Option<double>("--standing-cache")
        {
            Description = $"Seconds the verifier's answer on a node is reused (default {KbsOptions.DefaultStandingCache.TotalSeconds}); keep it below the verifier's quote interval",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => KbsOptions.DefaultStandingCache.TotalSeconds,
        };
        var maxAppraisalAge = new Option<double>("--max-appraisal-age")
        {
            Description = $"Seconds a node's last affirming appraisal may be old (default {KbsOptions.DefaultMaxAppraisalAge.TotalSeconds}); older, the node is refused",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => KbsOptions.DefaultMaxAppraisalAge.TotalSeconds,
        };
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
            listen, adminListen, registrar, verifier, signingKey, wrapKey, sessionTimeout, standingCache, maxAppraisalAge,
        };
        serve.AddTo(command);
        var store = new StoreOptions();
        store.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var seconds = parse.GetValue(sessionTimeout);
            if (seconds is < 1 or > 86_400)
                throw new CliUsageException(string.Create(CultureInfo.InvariantCulture, $"--session-timeout {seconds} must be 1 to 86400 seconds"));
            var cache = parse.GetValue(standingCache);
            if (cache is < 0 or > 60)
                throw new CliUsageException(string.Create(CultureInfo.InvariantCulture, $"--standing-cache {cache} must be 0 to 60 seconds"));
            var maxAge = parse.GetValue(maxAppraisalAge);
            if (maxAge is < 1 or > 3600)
                throw new CliUsageException(string.Create(CultureInfo.InvariantCulture, $"--max-appraisal-age {maxAge} must be 1 to 3600 seconds"));
            var registrarUrl = ParseUrl(parse, registrar);
            var verifierUrl = ParseUrl(parse, verifier);
            var storeLocation = store.Parse(parse);
            var endpoint = ServeOptions.Endpoint(parse, listen, "attesters", mutualTls: false);
            var adminEndpoint = ServeOptions.Endpoint(parse, adminListen, "admin", mutualTls: true);
            if (!Pkcs11Uri.LooksLikeUri(parse.GetValue(wrapKey)!))
                throw new CliUsageException("--wrap-key must be a pkcs11: URI: resources are wrapped by a key in an HSM");
            var signer = SigningKeys.Open(parse.GetValue(signingKey)!, signingKey.Name);
            try
            {
                using var wrapper = OpenWrapKey(parse.GetValue(wrapKey)!);
                using var tokenVerifier = SigningKeys.VerifierOf(signer);
                var kbs = new KbsOptions(
                    serve.DataDirectoryPath(parse),
                    endpoint,
                    adminEndpoint,
                    serve.LoadIdentity(parse),
                    registrarUrl,
                    verifierUrl,
                    signer,
                    tokenVerifier,
                    wrapper)
                {
                    Store = storeLocation,
                    SessionTimeout = TimeSpan.FromSeconds(seconds),
                    StandingCache = TimeSpan.FromSeconds(cache),
                    MaxAppraisalAge = TimeSpan.FromSeconds(maxAge),
                };
                return await ServeOptions.RunAsync(await KbsApp.BuildAsync(kbs, cancellationToken: ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            }
            finally
            {
                (signer as IDisposable)?.Dispose();
            }
        });
        return command;
    }

    private static HsmResourceKeyWrapper OpenWrapKey(string keyRef)
    {
        var (uri, pin) = SigningKeys.HsmKeyRef(keyRef, "--wrap-key");
        try
        {
            return HsmResourceKeyWrapper.Open(HsmModule.Load(uri.ModulePath), uri, pin);
        }
        catch (HsmException e)
        {
            throw new CliFailureException($"--wrap-key: {e.Message}");
        }
        finally
        {
            Array.Clear(pin);
        }
    }

    private static Option<string> Url(string name, string description, string defaultValue) => new(name)
    {
        Description = $"{description} (default {defaultValue})",
        HelpName = "URL",
        DefaultValueFactory = _ => defaultValue,
    };

    private static Uri ParseUrl(ParseResult parse, Option<string> option) => ServiceCall.HttpsUrl(option.Name, parse.GetValue(option));
}
