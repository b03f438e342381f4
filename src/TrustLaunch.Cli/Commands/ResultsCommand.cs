using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Commands.Agent;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Verifier.Signing;

namespace TrustLaunch.Cli.Commands;

/// <summary>
/// <c>trustlaunch results ID [--last N]</c>: an agent's attestation results, newest first, as their signed EAR tokens
/// say: status, policy, reason and event come from the token's claims, never from the store's unsigned columns. Each
/// token's signature is checked with the key its <c>kid</c> names (any verifier instance's, from
/// <c>GET /v1/keys/{kid}</c>); a result that does not check out is shown marked <c>INVALID</c> with why, and the
/// command then exits 1.
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
            var agentId = parse.GetValue(id)!;
            var results = await tenant.CallAsync(parse, c => c.GetResultsAsync(agentId, parse.GetValue(last), ct)).ConfigureAwait(false);
            var views = await ViewAsync(agentId, results, kid => tenant.CallAsync(parse, c => c.GetPublicKeyAsync(kid, ct))).ConfigureAwait(false);
            var written = await CliOutput.For(parse, options).WriteAsync(views, CliJsonContext.Output.IReadOnlyListResultView, (w, list) =>
            {
                if (list.Count == 0)
                {
                    w.WriteLine("no results yet");
                    return;
                }
                const string format = "{0,-8} {1,-20} {2,-16} {3,-14} {4,-8} {5,-22} {6,-10} {7}";
                w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, "ID", "AT", "STATUS", "POLICY", "LOG", "INSTANCE", "SIGNATURE", "REASON"));
                foreach (var r in list)
                {
                    var reason = r.Reason is null ? "" : r.EventIndex is { } i ? string.Create(CultureInfo.InvariantCulture, $"{r.Reason} (event {i})") : r.Reason;
                    w.WriteLine(string.Format(CultureInfo.InvariantCulture, format, r.Id, AgentCommands.Time(r.At), r.Status ?? "-", r.PolicyId ?? "-",
                        r.LogLength, r.InstanceId ?? "-", r.Signature == ResultView.Valid ? ResultView.Valid : "INVALID", reason));
                    if (r.Signature != ResultView.Valid)
                        w.WriteLine($"         {r.Signature}");
                }
            }).ConfigureAwait(false);
            return views.All(v => v.Signature == ResultView.Valid) ? written : ExitCodes.Failure;
        });
        return command;
    }

    /// <summary>Each result as its token's claims, after checking the token's signature and that it is about <paramref name="agentId"/>.</summary>
    private static async Task<IReadOnlyList<ResultView>> ViewAsync(string agentId, IReadOnlyList<AttestationResultRecord> results,
        Func<string, Task<string?>> publicKey)
    {
        var keys = new Dictionary<string, PemPayloadVerifier>(StringComparer.Ordinal);
        var views = new List<ResultView>(results.Count);
        try
        {
            foreach (var result in results)
            {
                EarClaims? claims = null;
                string signature;
                try
                {
                    var token = Jws.Parse(result.Token);
                    claims = EarClaims.Read(token.Payload);
                    signature = await CheckAsync(token, keys, publicKey).ConfigureAwait(false)
                        ?? (claims.AgentId == agentId ? ResultView.Valid : $"INVALID: the token is about agent '{claims.AgentId}'");
                }
                catch (FormatException e)
                {
                    signature = $"INVALID: {e.Message}";
                }
                views.Add(new ResultView(result.Id, claims?.IssuedAt ?? result.At, signature, claims?.Status, claims?.PolicyId, claims?.Reason,
                    claims?.EventIndex, result.LogLength, result.InstanceId, result.Token));
            }
        }
        finally
        {
            foreach (var key in keys.Values)
                key.Dispose();
        }
        return views;
    }

    /// <summary>Null when the token's signature verifies with the key its <c>kid</c> names; else <c>INVALID: why</c>.</summary>
    private static async Task<string?> CheckAsync(JwsParts token, Dictionary<string, PemPayloadVerifier> keys, Func<string, Task<string?>> publicKey)
    {
        if (token.KeyId is not { } kid)
            return "INVALID: the token names no key";
        if (!keys.TryGetValue(kid, out var key))
        {
            if (await publicKey(kid).ConfigureAwait(false) is not { } pem)
                return $"INVALID: no verifier instance published its key '{kid}'";
            keys[kid] = key = PemPayloadVerifier.FromPem(pem, $"verifier key '{kid}'");
        }
        return key.Verify(token.Algorithm, token.SigningInput, token.Signature) ? null : $"INVALID: the signature does not verify with key '{kid}'";
    }
}
