using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Ca;

/// <summary>
/// <c>trustlaunch ca revoke NAME [--reason R]</c>: revokes every certificate issued to NAME and writes the new CRL
/// (signed by the CA) to --key-dir and --dir. Services re-read crl.pem when it changes and refuse the revoked
/// certificates at the next TLS handshake; copy crl.pem to every other --tls-dir (other nodes) as with ca.crt.
/// </summary>
public static class CaRevokeCommand
{
    public static Command Create(GlobalOptions options)
    {
        var name = new Argument<string>("NAME") { Description = "Name of a certificate this CA issued" };
        var reason = new Option<X509RevocationReason?>("--reason") { Description = "RFC 5280 reason (e.g. KeyCompromise, Superseded)", HelpName = "REASON" };
        var dirs = new CaDirectoryOption();
        var command = new Command("revoke", "Revoke every certificate issued to NAME and publish the CRL") { name, reason };
        dirs.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            using var ca = dirs.Open(parse);
            var serials = ca.Revoke(parse.GetValue(name)!, parse.GetValue(reason));
            var result = new CaRevokeResult(parse.GetValue(name)!, serials, Path.Combine(ca.Directory, RevocationListFile.FileName));
            return await CliOutput.For(parse, options).WriteAsync(result, CaJsonContext.Default.CaRevokeResult,
                (w, r) => w.WriteLine(r.Revoked.Count == 0
                    ? $"every certificate of {r.Name} was already revoked ({r.RevocationList})"
                    : $"revoked {r.Name}: serial {string.Join(", ", r.Revoked)}; CRL written to {r.RevocationList}")).ConfigureAwait(false);
        });
        return command;
    }
}
