using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Cli.Commands;

/// <summary>
/// <c>trustlaunch results ID [--last N]</c>: an agent's attestation results, newest first, with their EAR tokens in
/// JSON. Each token's signature is checked first, with the key its <c>kid</c> names (any verifier instance's, from
/// <c>GET /v1/keys/{kid}</c>): a result that does not check out fails the command.
/// </summary>
public static class ResultsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var tenant = new TenantOptions();
        var id = new Argument<string>("ID") { Description = "Agent id" };
        var last = new Option<int>("--last") { Description = "How many results (default 20)", HelpName = "N", DefaultValueFactory = _ => 20 };
        var command = new Command("results", "Show an agent's signed attestation results") { id, last };
        tenant.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var results = await tenant.CallAsync(parse, c => c.GetResultsAsync(parse.GetValue(id)!, parse.GetValue(last), ct)).ConfigureAwait(false);
            await CheckSignaturesAsync(results, kid => tenant.CallAsync(parse, c => c.GetPublicKeyAsync(kid, ct))).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(results, ContractsJsonContext.Default.IReadOnlyListAttestationResultRecord, (w, list) =>
            {
                if (list.Count == 0)
                {
                    w.WriteLine("no results yet");
                    return;
                }
                const string format = "{0,-8} {1,-20} {2,-16} {3,-14} {4,-8} {5,-22} {6}";
                w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, "ID", "AT", "STATUS", "POLICY", "LOG", "INSTANCE", "REASON"));
                foreach (var r in list)
                {
                    w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, r.Id, AgentCommands.Time(r.At), r.Status, r.PolicyId, r.LogLength, r.InstanceId ?? "-",
                        r.Reason is null ? "" : r.EventIndex is { } i ? string.Create(CultureInfo.InvariantCulture, $"{r.Reason} (event {i})") : r.Reason));
                }
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task CheckSignaturesAsync(IReadOnlyList<AttestationResultRecord> results, Func<string, Task<string?>> publicKey)
    {
        var keys = new Dictionary<string, PemPayloadVerifier>(StringComparer.Ordinal);
        try
        {
            foreach (var result in results)
            {
                var token = Jws.Parse(result.Token);
                var kid = token.KeyId ?? throw new CliFailureException(string.Create(CultureInfo.InvariantCulture, $"result {result.Id}: its token names no key"));
                if (!keys.TryGetValue(kid, out var key))
                {
                    var pem = await publicKey(kid).ConfigureAwait(false) ?? throw new CliFailureException(
                        string.Create(CultureInfo.InvariantCulture, $"result {result.Id}: no verifier instance published its key '{kid}'"));
                    keys[kid] = key = PemPayloadVerifier.FromPem(pem, $"verifier key '{kid}'");
                }
                if (!key.Verify(token.Algorithm, token.SigningInput, token.Signature))
                    throw new CliFailureException(string.Create(CultureInfo.InvariantCulture, $"result {result.Id}: its token's signature does not verify with key '{kid}'"));
            }
        }
        finally
        {
            foreach (var key in keys.Values)
                key.Dispose();
        }
    }
}
