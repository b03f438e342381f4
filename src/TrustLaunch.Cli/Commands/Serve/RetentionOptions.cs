using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Verifier;
using TrustLaunch.Verifier.Signing;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// What <c>trustlaunch serve verifier</c> keeps and for how long: <c>--retain-results DURATION</c>,
/// <c>--retain-results-per-agent N</c>, <c>--retire-after DURATION</c> (dead instances, retired signing keys) and
/// <c>--webhook-max-attempts N</c>.
/// </summary>
public sealed class RetentionOptions
{
    public Option<string?> RetainResults { get; } = new("--retain-results")
    {
        Description = "Delete attestation results older than this (30s, 15m, 12h, 90d); each agent's newest is always kept (default: keep all)",
        HelpName = "DURATION",
    };

    public Option<int?> RetainPerAgent { get; } = new("--retain-results-per-agent")
    {
        Description = "Keep only each agent's N newest results (default: all); with --retain-results, a result must satisfy both to stay",
        HelpName = "N",
    };

    public Option<string> RetireAfter { get; } = new("--retire-after")
    {
        Description = "Forget dead verifier instances and remove retired signing keys this long after their last use, once no stored "
            + $"result or notification names them (default 1d, at least {EarToken.Lifetime.TotalMinutes:0}m: the tokens they signed expire first)",
        HelpName = "DURATION",
        DefaultValueFactory = _ => "1d",
    };

    public Option<int> WebhookMaxAttempts { get; } = new("--webhook-max-attempts")
    {
        Description = $"Delivery attempts of one revocation notification before it is dead-lettered (default {VerifierOptions.DefaultWebhookMaxAttempts})",
        HelpName = "N",
        DefaultValueFactory = _ => VerifierOptions.DefaultWebhookMaxAttempts,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(RetainResults);
        command.Options.Add(RetainPerAgent);
        command.Options.Add(RetireAfter);
        command.Options.Add(WebhookMaxAttempts);
    }

    /// <summary>The retention the command line asks for, refused before anything starts.</summary>
    public VerifierRetention Parse(ParseResult parse)
    {
        TimeSpan? age = parse.GetValue(RetainResults) is { } text ? Duration(RetainResults.Name, text) : null;
        if (parse.GetValue(RetainPerAgent) is < 1)
            throw new CliUsageException("--retain-results-per-agent must be at least 1: an agent's newest result is always kept");
        var retire = Duration(RetireAfter.Name, parse.GetValue(RetireAfter)!);
        if (retire < EarToken.Lifetime)
        {
            throw new CliUsageException(string.Create(CultureInfo.InvariantCulture,
                $"--retire-after {parse.GetValue(RetireAfter)} must be at least {EarToken.Lifetime.TotalMinutes:0}m: a retired key must outlive the tokens it signed"));
        }
        if (parse.GetValue(WebhookMaxAttempts) is < 1 or > 1000)
            throw new CliUsageException("--webhook-max-attempts must be 1 to 1000");
        return new VerifierRetention(new ResultRetention(age, parse.GetValue(RetainPerAgent)), retire, parse.GetValue(WebhookMaxAttempts));
    }

    private static TimeSpan Duration(string option, string text) => CliParsers.TryParseDuration(text, out var duration)
        ? duration
        : throw new CliUsageException($"{option} '{text}' is not a positive duration under 100 years (30s, 15m, 12h, 90d)");
}

/// <summary>What <see cref="RetentionOptions"/> parsed.</summary>
public sealed record VerifierRetention(ResultRetention Results, TimeSpan RetireAfter, int WebhookMaxAttempts)
{
    public VerifierOptions ApplyTo(VerifierOptions verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return verifier with { Retention = Results, RetireAfter = RetireAfter, WebhookMaxAttempts = WebhookMaxAttempts };
    }
}
