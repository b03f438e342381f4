using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Registrar;

/// <summary>
/// <c>trustlaunch registrar list|status|remove</c> (keylime_tenant's reglist, regstatus, regdelete): the registrations
/// on the registrar's management API (<c>--registrar URL</c>, or <c>$TRUSTLAUNCH_REGISTRAR</c>, default
/// https://127.0.0.1:8891), with the tenant certificate of <c>--tls-dir</c>/<c>--tls-name</c>.
/// </summary>
public static class RegistrarCommands
{
    public const string RegistrarVariable = "TRUSTLAUNCH_REGISTRAR";

    private sealed record Connection(Option<string> Registrar, Option<string> TlsDirectory, Option<string> TlsName)
    {
        public Task<T> CallAsync<T>(ParseResult parse, Func<RegistrarClient, Task<T>> call) =>
            ServiceCall.RunAsync(parse, Registrar, TlsDirectory, TlsName, ServiceRoles.Registrar, "registrar", http => call(new RegistrarClient(http)));
    }

    public static Command Create(GlobalOptions options)
    {
        var connection = new Connection(new Option<string>("--registrar")
        {
            Description = $"Registrar management API URL (default ${RegistrarVariable}, else https://127.0.0.1:8891)",
            HelpName = "URL",
            Recursive = true,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(RegistrarVariable) ?? "https://127.0.0.1:8891",
        }, TenantOptions.TlsDirectoryOption(), TenantOptions.TlsNameOption());
        var registrar = new Command("registrar", "Look at and remove the agents registered at the registrar");
        registrar.Options.Add(connection.Registrar);
        registrar.Options.Add(connection.TlsDirectory);
        registrar.Options.Add(connection.TlsName);
        foreach (var command in new[] { List(options, connection), Status(options, connection), Remove(options, connection) })
            registrar.Subcommands.Add(command);
        return registrar;
    }

    private static Argument<string> AgentId() => new("ID") { Description = "Agent id (the UUID it registered with)" };

    private static Command List(GlobalOptions options, Connection connection)
    {
        var command = new Command("list", "List the registered agents");
        command.SetAction(async (parse, ct) =>
        {
            var agents = await connection.CallAsync(parse, c => c.ListAsync(ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(agents, ContractsJsonContext.Default.IReadOnlyListRegisteredAgent, WriteTable).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Status(GlobalOptions options, Connection connection)
    {
        var id = AgentId();
        var command = new Command("status", "Show an agent's registration: its EK, AK, TLS certificate and whether it proved its TPM") { id };
        command.SetAction(async (parse, ct) =>
        {
            var agentId = parse.GetValue(id)!;
            var agent = await connection.CallAsync(parse, c => c.GetAsync(agentId, ct)).ConfigureAwait(false) ?? throw NotRegistered(agentId);
            return await CliOutput.For(parse, options).WriteAsync(agent, ContractsJsonContext.Default.RegisteredAgent, WriteStatus).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Remove(GlobalOptions options, Connection connection)
    {
        var id = AgentId();
        var command = new Command("remove", "Delete an agent's registration (it registers afresh when it restarts)") { id };
        command.SetAction(async (parse, ct) =>
        {
            var agentId = parse.GetValue(id)!;
            if (!await connection.CallAsync(parse, c => c.DeleteAsync(agentId, ct)).ConfigureAwait(false))
                throw NotRegistered(agentId);
            var output = CliOutput.For(parse, options);
            await output.Writer.WriteLineAsync(output.Json
                ? $$"""{"agent_id":"{{JsonEncodedText.Encode(agentId)}}","removed":true}"""
                : $"agent {agentId} removed from the registrar").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static CliFailureException NotRegistered(string agentId) => new($"agent '{agentId}' is not registered at the registrar");

    private static void WriteTable(TextWriter w, IReadOnlyList<RegisteredAgent> agents)
    {
        if (agents.Count == 0)
        {
            w.WriteLine("no agents registered");
            return;
        }
        const string format = "{0,-38} {1,-22} {2,-8} {3,-20} {4}";
        w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, "AGENT", "ADDRESS", "ACTIVE", "REGISTERED", "ACTIVATED"));
        foreach (var a in agents)
        {
            w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, a.AgentId, a.Address ?? "-", a.Active ? "yes" : "no",
                AgentCommands.Time(a.RegisteredAt), AgentCommands.Time(a.ActivatedAt)));
        }
    }

    private static void WriteStatus(TextWriter w, RegisteredAgent a)
    {
        w.WriteLine($"agent:           {a.AgentId}");
        w.WriteLine($"address:         {a.Address ?? "-"}");
        w.WriteLine($"active:          {(a.Active ? "yes (the TPM answered the credential challenge)" : "no (credential challenge not answered)")}");
        w.WriteLine($"registered:      {AgentCommands.Time(a.RegisteredAt)}");
        w.WriteLine($"activated:       {AgentCommands.Time(a.ActivatedAt)}");
        w.WriteLine($"EK (sha256):     {Fingerprint(a.EkPublic)}");
        w.WriteLine($"EK certificate:  {(a.EkCertificate is { } ek ? Describe(X509CertificateLoader.LoadCertificate(ek)) : "none")}");
        w.WriteLine($"AK (sha256):     {Fingerprint(a.AkPublic)}");
        w.WriteLine($"TLS certificate: {Describe(X509Certificate2.CreateFromPem(a.TlsCertificate))}");
    }

    /// <summary>SHA-256 of a TPM2B_PUBLIC as the registrar holds it, lower-case hex.</summary>
    private static string Fingerprint(byte[] tpmPublic) => Convert.ToHexStringLower(SHA256.HashData(tpmPublic));

    private static string Describe(X509Certificate2 certificate)
    {
        using (certificate)
            return $"{(certificate.Subject.Length == 0 ? "(empty subject)" : certificate.Subject)}, issued by {certificate.Issuer}, sha256 {certificate.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant()}";
    }
}
