using System.CommandLine;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Registrar;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// <c>trustlaunch serve registrar</c>: agent registration on <c>--listen</c> (TLS) and management on
/// <c>--management-listen</c> (mutual TLS, tenant or verifier certificates).
/// </summary>
public static class ServeRegistrarCommand
{
    public static Command Create(GlobalOptions options)
    {
        var serve = new ServeOptions(ServiceRoles.Registrar, "/var/lib/trustlaunch/registrar");
        var listen = ServeOptions.Listen("--listen", "Agent-facing TLS listener", RegistrarOptions.DefaultAgentPort);
        var management = ServeOptions.Listen("--management-listen", "Management mutual-TLS listener", RegistrarOptions.DefaultManagementPort);
        var ekCa = new Option<FileInfo[]>("--ek-ca")
        {
            Description = "PEM file(s) of the CAs EK certificates must chain to: roots and the intermediates that issue EK certificates "
                + "(one bundle or several --ek-ca; TPM manufacturers' CAs, or swtpm-localca's issuercert.pem and root)",
            HelpName = "FILE",
        };
        var requireEkCert = new Option<bool>("--require-ek-cert")
        {
            Description = "Refuse agents whose TPM presents no EK certificate (default true)",
            DefaultValueFactory = _ => true,
        };
        var command = new Command("registrar", "Run the registrar: agent registration (EK, AK, credential activation)") { listen, management, ekCa, requireEkCert };
        serve.AddTo(command);
        var store = new StoreOptions();
        store.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var storeLocation = store.Parse(parse);
            var ekCaPaths = (parse.GetValue(ekCa) ?? []).Select(f => f.FullName).ToList();
            var registrar = new RegistrarOptions(
                serve.DataDirectoryPath(parse),
                ServeOptions.Endpoint(parse, listen, "agents", mutualTls: false),
                ServeOptions.Endpoint(parse, management, "management", mutualTls: true),
                serve.LoadIdentity(parse),
                ekCaPaths.Count == 0 ? null : CaBundle.Load(ekCaPaths),
                parse.GetValue(requireEkCert))
            {
                Store = storeLocation,
            };
            var app = await RegistrarApp.BuildAsync(registrar, ct).ConfigureAwait(false);
            return await ServeOptions.RunAsync(app, ct).ConfigureAwait(false);
        });
        return command;
    }
}
