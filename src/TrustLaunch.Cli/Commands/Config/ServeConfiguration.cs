using System.CommandLine;
using System.CommandLine.Help;
using TrustLaunch.Cli.Commands.Serve;

namespace TrustLaunch.Cli.Commands.Config;

public enum SettingSource
{
    Default,
    File,
    Environment,
    Flag,
}

/// <summary>Where one key of a role's effective configuration came from (<paramref name="Origin"/>: FILE:LINE or the variable).</summary>
public sealed record ResolvedSetting(string Key, Option Option, SettingSource Source, string? Origin, IReadOnlyList<string> Values);

/// <summary>
/// The settings of <c>serve ROLE</c>: every option of the role is a key (its long name without <c>--</c>), taken
/// from the command line, else <c>TRUSTLAUNCH_ROLE_KEY</c> (upper-cased, <c>-</c> and <c>.</c> as <c>_</c>; lists
/// comma-separated), else the settings file, else the option's default. File and environment values are checked
/// (<see cref="ServeSettingRules"/>) and handed to the parser as <c>--key=value</c>, so they meet exactly the checks a
/// flag meets.
/// </summary>
public sealed class ServeConfiguration
{
    private ServeConfiguration(ServeConfigOption configOption, string? file, IReadOnlyList<ResolvedSetting> settings)
    {
        ConfigOption = configOption;
        File = file;
        Settings = settings;
    }

    public ServeConfigOption ConfigOption { get; }
    /// <summary>The settings file read, or null when there is none.</summary>
    public string? File { get; }
    public IReadOnlyList<ResolvedSetting> Settings { get; }

    /// <summary>
    /// Parses <paramref name="args"/>; for a <c>serve ROLE</c> command, parses again with the file's and the
    /// environment's settings added. Refusals (unknown key, wrong type, inline secret, missing file) are thrown as
    /// <see cref="CliUsageException"/> naming the file, line and key.
    /// </summary>
    public static ParseResult Parse(RootCommand root, IReadOnlyList<string> args, Func<string, string?> environment, out ServeConfiguration? configuration)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(args);
        configuration = null;
        var first = root.Parse(args);
        if (first.Action is { ClearsParseErrors: true }
            || first.CommandResult.Command.Options.OfType<ServeConfigOption>().FirstOrDefault() is not { } configOption)
            return first;
        var file = SettingsFile(first, configOption);
        var fileSettings = file is null ? [] : ServeConfigFile.Read(file);
        var keys = Keys(first.CommandResult.Command);
        var fromFile = new Dictionary<string, FileSetting>(StringComparer.Ordinal);
        foreach (var setting in fileSettings)
        {
            if (!keys.TryGetValue(setting.Key, out var option))
                throw ServeConfigFile.Refuse(file!, setting.Line, ServeSettingRules.UnknownKey(setting.Key, configOption.Role));
            ServeSettingRules.CheckFile(file!, setting, option);
            fromFile[setting.Key] = setting;
        }
        var added = new List<string>();
        var resolved = new List<ResolvedSetting>();
        foreach (var (key, option) in keys)
        {
            var setting = Resolve(first, configOption.Role, key, option, file, fromFile, environment);
            resolved.Add(setting);
            if (setting.Source is SettingSource.File or SettingSource.Environment)
                added.AddRange(setting.Values.Select(v => $"--{key}={v}"));
        }
        var final = added.Count == 0 ? first : root.Parse(Insert(args, added));
        configuration = new ServeConfiguration(configOption, file, resolved);
        return final;
    }

    /// <summary>The name of the variable that sets <paramref name="key"/> of <paramref name="role"/>.</summary>
    public static string EnvironmentVariable(string role, string key) =>
        $"TRUSTLAUNCH_{role}_{key}".ToUpperInvariant().Replace('-', '_').Replace('.', '_');

    private static ResolvedSetting Resolve(ParseResult parse, string role, string key, Option option, string? file,
        Dictionary<string, FileSetting> fromFile, Func<string, string?> environment)
    {
        if (parse.GetResult(option) is { Implicit: false } given)
            return new ResolvedSetting(key, option, SettingSource.Flag, null, [.. given.Tokens.Select(t => t.Value)]);
        var variable = EnvironmentVariable(role, key);
        if (environment(variable) is { } text)
            return new ResolvedSetting(key, option, SettingSource.Environment, variable, ServeSettingRules.CheckEnvironment(variable, key, text, option));
        if (fromFile.TryGetValue(key, out var setting))
            return new ResolvedSetting(key, option, SettingSource.File, $"{file}:{setting.Line}", setting.Values);
        return new ResolvedSetting(key, option, SettingSource.Default, null, []);
    }

    private static string? SettingsFile(ParseResult parse, ServeConfigOption option)
    {
        if (parse.GetValue(option) is { } given)
        {
            return System.IO.File.Exists(given.FullName)
                ? given.FullName
                : throw new CliUsageException($"--config {given.FullName}: no such file");
        }
        var standard = Path.Combine(ServeConfigOption.DefaultDirectory, option.Role + ".yaml");
        return System.IO.File.Exists(standard) ? standard : null;
    }

    /// <summary>The keys of a role: its options and the recursive ones it inherits (<c>--tpm</c>), not help or <c>--config</c>.</summary>
    private static SortedDictionary<string, Option> Keys(Command role)
    {
        var keys = new SortedDictionary<string, Option>(StringComparer.Ordinal);
        var inherited = role.Parents.OfType<Command>().SelectMany(AncestorsAndSelf).SelectMany(c => c.Options).Where(o => o.Recursive);
        foreach (var option in role.Options.Concat(inherited))
        {
            if (option is HelpOption or VersionOption or ServeConfigOption || !option.Name.StartsWith("--", StringComparison.Ordinal))
                continue;
            keys.TryAdd(option.Name[2..], option);
        }
        return keys;
    }

    private static IEnumerable<Command> AncestorsAndSelf(Command command) =>
        new[] { command }.Concat(command.Parents.OfType<Command>().SelectMany(AncestorsAndSelf));

    /// <summary>The added options go before a <c>--</c>, after which everything is an argument.</summary>
    private static List<string> Insert(IReadOnlyList<string> args, List<string> added)
    {
        var list = args.ToList();
        var end = list.IndexOf("--");
        list.InsertRange(end < 0 ? list.Count : end, added);
        return list;
    }
}
