using System.CommandLine;
using System.Net;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Ca;

/// <summary>
/// <c>trustlaunch ca issue ROLE NAME [--dns N]… [--ip A]… [--dir D] [--out O]</c>: a certificate for a service or a
/// tenant (server and client authentication, role as SAN URI trustlaunch://ROLE/NAME), written as NAME.crt/NAME.key.
/// </summary>
public static class CaIssueCommand
{
    public static Command Create(GlobalOptions options)
    {
        var role = new Argument<string>("ROLE") { Description = $"One of {string.Join(", ", ServiceRoles.All)}" };
        role.AcceptOnlyFromAmong([.. ServiceRoles.All]);
        var name = new Argument<string>("NAME") { Description = "Certificate name: the CN, the URI path and the file name" };
        var dns = new Option<string[]>("--dns") { Description = "DNS subject alternative name (repeatable)", HelpName = "NAME", AllowMultipleArgumentsPerToken = false };
        var ip = new Option<string[]>("--ip") { Description = "IP subject alternative name (repeatable); without --dns/--ip: 127.0.0.1, ::1, localhost", HelpName = "ADDRESS" };
        var dir = CaDirectoryOption.Create();
        var output = new Option<DirectoryInfo?>("--out") { Description = "Write NAME.crt and NAME.key here (default: the CA directory)", HelpName = "DIR" };
        var command = new Command("issue", "Issue a certificate and key for a role, signed by the CA") { role, name, dns, ip, dir, output };
        command.SetAction(async (parse, ct) =>
        {
            var addresses = (parse.GetValue(ip) ?? []).Select(text => IPAddress.TryParse(text, out var a)
                ? a : throw new CliUsageException($"--ip '{text}' is not an IP address")).ToList();
            using var ca = CertificateAuthority.Open(parse.GetValue(dir)!.FullName);
            var issued = ca.Issue(parse.GetValue(role)!, parse.GetValue(name)!, parse.GetValue(dns) ?? [], addresses, parse.GetValue(output)?.FullName);
            var result = new CaIssueResult(issued.Role, issued.Name, issued.CertificatePath, issued.KeyPath, issued.Subject, issued.Thumbprint, issued.NotAfter);
            return await CliOutput.For(parse, options).WriteAsync(result, CaJsonContext.Default.CaIssueResult,
                (w, r) => w.WriteLine($"issued {r.Role} certificate {r.Subject}: {r.Certificate}, {r.Key}")).ConfigureAwait(false);
        });
        return command;
    }
}
