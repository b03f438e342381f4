namespace TrustLaunch.Agent.Launcher;

/// <summary>An expected refusal of a container operation (name in use, no such container, still running…).</summary>
public sealed class LauncherException(string message) : Exception(message);
