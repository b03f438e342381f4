using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Ca;

/// <summary><c>trustlaunch ca renew NAME [--days N] [--out O]</c>: a new key and certificate with the role and names of
/// NAME's latest certificate; the old one stays valid until it expires or is revoked.</summary>
public static class CaRenewCommand
{
    public static Command Create(GlobalOptions options)
    {
        var name = new Argument<string>("NAME") { Description = "Name of a certificate this CA issued" };
        var days = CaDirectoryOption.Days();
        var dirs = new CaDirectoryOption();
        var output = CaDirectoryOption.Output();
        var command = new Command("renew", "Issue NAME again (new key, same role and names); restart the service to use it") { name, days };
        dirs.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, ct) =>
        {
            using var ca = dirs.Open(parse);
            var issued = ca.Renew(parse.GetValue(name)!, CaDirectoryOption.Lifetime(parse, days), parse.GetValue(output)?.FullName);
            return await CliOutput.For(parse, options).WriteAsync(CaDirectoryOption.Result(issued), CaJsonContext.Default.CaIssueResult,
                (w, r) => w.WriteLine($"renewed {r.Role} certificate {r.Subject} (serial {r.SerialNumber}, until {r.NotAfter:yyyy-MM-dd}): {r.Certificate}, {r.Key}")).ConfigureAwait(false);
        });
        return command;
    }
}
