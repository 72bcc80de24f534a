#version 330
// Mirror and kaleidoscope: mode 0 = off, 1 = left half onto the right, 2 = top onto bottom,
// 3 = four-way; segments > 1 folds the image into a kaleidoscope of that many wedges.
// @enabled 1
// @bypass_when mode<=0.49 segments<=1.99
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_input;
uniform sampler2D u_previous;
uniform float u_time;
uniform vec2 u_resolution;
uniform float mode; // @param 0 3 0 0 off, 1 horizontal, 2 vertical, 3 both
uniform float segments; // @param 0 16 0 kaleidoscope wedges (below 2 = off)
uniform float spin; // @param -2 2 0 kaleidoscope rotation in turns per second

void main() {
    vec2 uv = v_uv;
    int m = int(mode + 0.5);
    if (m == 1 || m == 3) uv.x = uv.x > 0.5 ? 1.0 - uv.x : uv.x;
    if (m == 2 || m == 3) uv.y = uv.y > 0.5 ? 1.0 - uv.y : uv.y;  // uv (0,0) is the image's top-left
    if (segments >= 2.0) {
        vec2 c = uv - 0.5;
        float n = floor(segments + 0.5);
        float wedge = 6.2831853 / n;
        float ang = atan(c.y, c.x) + spin * u_time * 6.2831853;
        ang = mod(ang, wedge);
        ang = min(ang, wedge - ang);
        uv = vec2(cos(ang), sin(ang)) * length(c) + 0.5;
    }
    f_color = vec4(texture(u_input, uv).rgb, 1.0);
}
