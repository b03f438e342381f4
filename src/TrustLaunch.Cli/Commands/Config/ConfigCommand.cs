using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;
using TrustLaunch.Cli.Parsing;

namespace TrustLaunch.Cli.Commands.Config;

/// <summary>
/// <c>trustlaunch config show ROLE [--config FILE] [ROLE OPTIONS…]</c>: the configuration <c>serve ROLE</c> would run
/// with, as YAML, each key's source (default, file FILE:LINE, env VARIABLE, flag) as a comment and anything
/// secret-like redacted. It resolves exactly as <c>serve</c> does (<see cref="ServeConfiguration"/>), refusals included.
/// </summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var role = new Argument<string>("ROLE") { Description = "registrar, verifier, agent or kbs" };
        role.AcceptOnlyFromAmong("registrar", "verifier", "agent", "kbs");
        var file = new Option<FileInfo?>("--config") { Description = "Settings file (default /etc/trustlaunch/ROLE.yaml when it exists)", HelpName = "FILE" };
        var show = new Command("show", "Print the effective configuration of serve ROLE (secrets redacted); further options as serve ROLE takes them")
        {
            role, file,
        };
        show.TreatUnmatchedTokensAsErrors = false;
        show.SetAction(async (parse, ct) =>
        {
            var root = (RootCommand)parse.RootCommandResult.Command;
            var final = ServeConfiguration.Parse(root, ServeArguments(parse), Environment.GetEnvironmentVariable, out var configuration);
            if (configuration is null)
                throw new CliUsageException($"serve {parse.GetValue(role)} takes no settings file");
            if (final.Errors.FirstOrDefault(e => !IsMissingRequired(final, e)) is { } error)
                throw new CliUsageException(error.Message);
            await parse.InvocationConfiguration.Output.WriteAsync(Render(final, configuration).AsMemory(), ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        var config = new Command("config", "Settings files of the serve roles");
        config.Subcommands.Add(show);
        return config;
    }

    /// <summary>This command line as <c>serve ROLE …</c>: <c>config show</c> becomes <c>serve</c>, everything else stays.</summary>
    private static List<string> ServeArguments(ParseResult parse)
    {
        var arguments = new List<string>();
        var replaced = false;
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.Command && token.Value is "config" or "show" && !replaced)
            {
                if (token.Value == "show")
                {
                    arguments.Add("serve");
                    replaced = true;
                }
                continue;
            }
            arguments.Add(token.Value);
        }
        return arguments;
    }

    /// <summary>A required option nothing gave is shown as not set rather than refused.</summary>
    private static bool IsMissingRequired(ParseResult parse, ParseError error) =>
        parse.CommandResult.Command.Options.Any(o => o.Required && parse.GetResult(o) is not { Tokens.Count: > 0 }
            && error.Message.Contains($"'{o.Name}'", StringComparison.Ordinal));

    private static string Render(ParseResult parse, ServeConfiguration configuration)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# serve {configuration.ConfigOption.Role}: effective configuration; settings file: {configuration.File ?? "none"}\n");
        foreach (var setting in configuration.Settings)
        {
            var source = setting.Source switch
            {
                SettingSource.File => $"file {setting.Origin}",
                SettingSource.Environment => $"env {setting.Origin}",
                SettingSource.Flag => "flag",
                _ => "default",
            };
            var value = parse.GetResult(setting.Option) is OptionResult result && !(setting.Option.Required && result.Tokens.Count == 0)
                ? result.GetValueOrDefault<object?>()
                : null;
            switch (value)
            {
                case null:
                    text.Append(CultureInfo.InvariantCulture, $"# {setting.Key}:  # not set ({source})\n");
                    break;
                case System.Collections.IEnumerable list when value is not string:
                    var items = list.Cast<object?>().ToList();
                    text.Append(CultureInfo.InvariantCulture, $"{setting.Key}:{(items.Count == 0 ? " []" : "")}  # {source}\n");
                    foreach (var item in items)
                        text.Append(CultureInfo.InvariantCulture, $"  - {Scalar(setting.Key, item)}\n");
                    break;
                default:
                    text.Append(CultureInfo.InvariantCulture, $"{setting.Key}: {Scalar(setting.Key, value)}  # {source}\n");
                    break;
            }
        }
        return text.ToString();
    }

    private static string Scalar(string key, object? value) => value switch
    {
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        uint handle => Quoted(CliParsers.FormatHandle(handle)),
        FileSystemInfo f => Quoted(ServeSettingRules.Shown(key, f.FullName)),
        _ => Quoted(ServeSettingRules.Shown(key, Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")),
    };

    /// <summary>A YAML double-quoted scalar.</summary>
    private static string Quoted(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            if (c is '"' or '\\')
                text.Append('\\').Append(c);
            else if (char.IsControl(c))
                text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else
                text.Append(c);
        }
        return text.Append('"').ToString();
    }
}
