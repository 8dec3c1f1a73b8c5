// A streamed response body decoded as the caller reads it: a body_reader over the transport's.
#pragma once

#include "body_decoder.hpp"

#include <roundtrip/body_reader.hpp>

#include <memory>

namespace roundtrip::decompress_detail {

/// Returns a reader that decodes what `encoded` delivers through `decoder`.
body_reader decoding_reader(body_reader encoded, std::unique_ptr<body_decoder> decoder);

} // namespace roundtrip::decompress_detail
