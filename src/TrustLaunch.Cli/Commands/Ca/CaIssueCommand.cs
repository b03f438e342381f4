using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Ca;

/// <summary>
/// <c>trustlaunch ca issue ROLE NAME [--san DNS:N,IP:A]… [--days N] [--dir D] [--key-dir K] [--out O]</c>: a
/// certificate for a role (SAN URI trustlaunch://ROLE/NAME), written as NAME.crt/NAME.key. Server roles get exactly the
/// DNS/IP names given; the tenant role is client-only and takes none.
/// </summary>
public static class CaIssueCommand
{
    public static Command Create(GlobalOptions options)
    {
        var role = new Argument<string>("ROLE") { Description = $"One of {string.Join(", ", ServiceRoles.All)}" };
        role.AcceptOnlyFromAmong([.. ServiceRoles.All]);
        var name = new Argument<string>("NAME") { Description = "Certificate name: the CN, the URI path and the file name" };
        var san = new Option<string[]>("--san")
        {
            Description = "DNS:NAME or IP:ADDRESS the server answers for, comma-separated or repeated (server roles only; none by default)",
            HelpName = "DNS:N,IP:A",
        };
        var days = CaDirectoryOption.Days();
        var dirs = new CaDirectoryOption();
        var output = CaDirectoryOption.Output();
        var command = new Command("issue", "Issue a certificate and key for a role, signed by the CA") { role, name, san, days };
        dirs.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, ct) =>
        {
            SubjectAltNames names;
            try
            {
                names = SubjectAltNames.Parse(parse.GetValue(san) ?? []);
            }
            catch (FormatException e)
            {
                throw new CliUsageException($"--san: {e.Message}");
            }
            if (!ServiceRoles.IsServer(parse.GetValue(role)!) && !names.IsEmpty)
                throw new CliUsageException($"--san: role '{parse.GetValue(role)}' is client-only and gets no DNS/IP names");
            using var ca = dirs.Open(parse);
            var issued = ca.Issue(parse.GetValue(role)!, parse.GetValue(name)!, names, CaDirectoryOption.Lifetime(parse, days), parse.GetValue(output)?.FullName);
            return await CliOutput.For(parse, options).WriteAsync(CaDirectoryOption.Result(issued), CaJsonContext.Default.CaIssueResult,
                (w, r) => w.WriteLine($"issued {r.Role} certificate {r.Subject} (serial {r.SerialNumber}, until {r.NotAfter:yyyy-MM-dd}): {r.Certificate}, {r.Key}")).ConfigureAwait(false);
        });
        return command;
    }
}
