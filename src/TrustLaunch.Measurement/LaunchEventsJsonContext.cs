using System.Text.Json.Serialization;

namespace TrustLaunch.Measurement;

/// <summary>Source-generated contracts of the launch event contents (read them back with these too).</summary>
[JsonSerializable(typeof(ImagePulledEvent))]
[JsonSerializable(typeof(ImageVerifiedEvent))]
[JsonSerializable(typeof(ImageRejectedEvent))]
[JsonSerializable(typeof(ContainerCreatedEvent))]
[JsonSerializable(typeof(ContainerEvent))]
[JsonSerializable(typeof(ContainerStoppedEvent))]
[JsonSerializable(typeof(ContainerExecEvent))]
public sealed partial class LaunchEventsJsonContext : JsonSerializerContext;
