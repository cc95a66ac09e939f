# Calls of the function named fn in a callgrind output file (names may be
# compressed: "(id) name" the first time, "(id)" after, in fn= and cfn=).
function name_of(s,    id) {
  if (match(s, /^\([0-9]+\)/)) {
    id = substr(s, RSTART, RLENGTH)
    if (length(s) > RLENGTH) names[id] = substr(s, RLENGTH + 2)
    return names[id]
  }
  return s
}
/^fn=/ { name_of(substr($0, 4)); next }
/^cfn=/ { callee = name_of(substr($0, 5)); next }
/^calls=/ { if (callee == fn) { split(substr($0, 7), a, " "); n += a[1] } callee = ""; next }
END { print n + 0 }
