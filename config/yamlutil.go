package config

import yamlv3 "go.yaml.in/yaml/v3"

// yamlUnmarshalAny parses a YAML document of any shape (used for $include
// and for diagnosing top-level documents that are not maps).
func yamlUnmarshalAny(data []byte, out *any) error {
	return yamlv3.Unmarshal(data, out)
}
