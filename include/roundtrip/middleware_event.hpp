// The open part of the event vocabulary: events a middleware defines in its own code, which every
// observer receives and every writer shows with their fields, though the core does not know them.
#pragma once

#include <roundtrip/field_writer.hpp>

#include <concepts>
#include <memory>
#include <string_view>
#include <typeinfo>

namespace roundtrip {

/// A `custom_event` is an event type a middleware defines: a small value with a stable snake_case
/// `event_name` and a `write_fields` that hands each field to a `field_writer` (it must throw
/// nothing but `std::bad_alloc`: writers run inside observers, which are noexcept). Optionally an
/// `attribute_prefix` ("roundtrip.retry", "acme.auth") that tracing puts before each key to make
/// span attributes in the middleware's namespace. For example:
///
///     struct token_refreshed {
///         static constexpr std::string_view event_name = "token_refreshed";
///         static constexpr std::string_view attribute_prefix = "acme.auth";
///         clock::duration took{};
///         void write_fields(roundtrip::field_writer& out) const { out("took", took); }
///     };
///
/// It is reported with `emit(req, token_refreshed{...})` (middleware.hpp) and read back by an
/// observer with `event_cast<token_refreshed>(e)`. Like roundtrip's own events, it may hold views
/// that are valid only while observers receive it.
template <class T>
concept custom_event = std::copy_constructible<T> && requires(const T& e, field_writer& out) {
    { T::event_name } -> std::convertible_to<std::string_view>;
    e.write_fields(out);
};

namespace detail {

// What a middleware_event knows of the type it carries.
struct custom_event_type {
    std::string_view name;
    std::string_view attribute_prefix;
    const std::type_info& id;
    void (*write_fields)(const void* value, field_writer& out);
    std::shared_ptr<const void> (*copy)(const void* value);
};

template <class T>
constexpr std::string_view attribute_prefix_of() noexcept
{
    if constexpr (requires { T::attribute_prefix; })
        return T::attribute_prefix;
    else
        return {};
}

template <custom_event T>
inline const custom_event_type custom_event_type_of{
    T::event_name, attribute_prefix_of<T>(), typeid(T),
    [](const void* v, field_writer& out) { static_cast<const T*>(v)->write_fields(out); },
    [](const void* v) -> std::shared_ptr<const void> { return std::make_shared<const T>(*static_cast<const T*>(v)); }};

} // namespace detail

/// A `middleware_event` is the payload of an event a middleware defined (a `custom_event`): the
/// alternative of `event_data` that carries every such type. It refers to the value it was made
/// from, valid while observers receive it; `kept()` makes a copy that owns its value.
class middleware_event {
public:
    /// Refers to `e`, which must outlive this object (and its copies) unless they are `kept()`.
    /// (Each constraint rules out middleware_event itself first: asking whether it is a
    /// custom_event, which must be copyable, while its own copy is being resolved recurses in clang.)
    template <class T>
        requires(!std::same_as<T, middleware_event> && custom_event<T>)
    explicit middleware_event(const T& e) noexcept : type_(&detail::custom_event_type_of<T>), value_(&e)
    {
    }
    /// Not from a temporary, which would be gone at the end of the statement.
    template <class T>
        requires(!std::same_as<T, middleware_event> && custom_event<T>)
    explicit middleware_event(const T&& e) = delete;

    /// Returns the event's name, `T::event_name`.
    std::string_view name() const noexcept { return type_->name; }

    /// Returns the prefix of its span attributes, `T::attribute_prefix`, or empty.
    std::string_view attribute_prefix() const noexcept { return type_->attribute_prefix; }

    /// Returns the value if it is a `T`, else null.
    template <custom_event T>
    const T* get() const noexcept
    {
        return type_->id == typeid(T) ? static_cast<const T*>(value_) : nullptr;
    }

    /// Hands each field of the event to `out`.
    void write_fields(field_writer& out) const { type_->write_fields(value_, out); }

    /// Returns a copy that owns a copy of the value, for an observer that keeps events past their
    /// delivery (views inside the value still point where they did). Allocates once.
    middleware_event kept() const
    {
        middleware_event copy(*this);
        copy.owned_ = type_->copy(value_);
        copy.value_ = copy.owned_.get();
        return copy;
    }

private:
    const detail::custom_event_type* type_;
    const void* value_;
    std::shared_ptr<const void> owned_; // set by kept()
};

} // namespace roundtrip
